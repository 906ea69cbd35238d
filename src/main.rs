use clap::Parser;
use flexcover::cli::{Cli, run};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _telemetry = match flexcover::telemetry::init(cli.telemetry.log_format) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("flexcover: {}", flexcover::cli::describe(&error));
            return std::process::ExitCode::FAILURE;
        }
    };
    match run(cli).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(error) => {
            eprintln!("flexcover: {}", flexcover::cli::describe(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
