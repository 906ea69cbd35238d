//! `flexcover.v1.FederationService`: decode, call `service::federation`, encode.
mod decode;
mod encode;

use super::AppState;
use crate::auth::principal;
use crate::pb;
use crate::pb::federation_service_server::FederationService;
use crate::service::federation::{
    self as service, AcknowledgeEvents, GetDigest, ResolvePerson, StreamEvents, Watches,
};
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

pub struct FederationApi {
    state: AppState,
    /// Bumped whenever events are numbered (by this replica or, through LISTEN, another).
    numbered: watch::Receiver<u64>,
    /// Set when the server begins to shut down.
    shutting_down: watch::Receiver<bool>,
}

impl FederationApi {
    pub fn new(
        state: AppState,
        numbered: watch::Receiver<u64>,
        shutting_down: watch::Receiver<bool>,
    ) -> Self {
        Self {
            state,
            numbered,
            shutting_down,
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::FederatedEvent, Status>> + Send>>;

#[tonic::async_trait]
impl FederationService for FederationApi {
    async fn resolve_person(
        &self,
        request: Request<pb::ResolvePersonRequest>,
    ) -> Result<Response<pb::ResolvedPerson>, Status> {
        let principal = principal(&request)?;
        let command = ResolvePerson::try_from(request.into_inner())?;
        let resolved = service::resolve_person(&self.state, &principal, command).await?;
        Ok(Response::new(pb::ResolvedPerson::from(&resolved)))
    }

    type StreamEventsStream = EventStream;

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        let principal = principal(&request)?;
        let command = StreamEvents::try_from(request.into_inner())?;
        let watches = Watches {
            numbered: self.numbered.clone(),
            shutting_down: self.shutting_down.clone(),
        };
        let events = service::stream_events(
            &self.state,
            &principal,
            watches,
            command,
            encode::federated_event,
        )
        .await?;
        Ok(Response::new(Box::pin(
            events.map(|event| event.map_err(Status::from)),
        )))
    }

    async fn get_digest(
        &self,
        request: Request<pb::GetDigestRequest>,
    ) -> Result<Response<pb::Digest>, Status> {
        let principal = principal(&request)?;
        let command = GetDigest::try_from(request.into_inner())?;
        let digest = service::get_digest(&self.state, &principal, command).await?;
        Ok(Response::new(pb::Digest::from(&digest)))
    }

    async fn acknowledge_events(
        &self,
        request: Request<pb::AcknowledgeEventsRequest>,
    ) -> Result<Response<pb::Acknowledgement>, Status> {
        let principal = principal(&request)?;
        let command = AcknowledgeEvents::try_from(request.into_inner())?;
        let acknowledgement = service::acknowledge_events(&self.state, &principal, command).await?;
        Ok(Response::new(pb::Acknowledgement::from(&acknowledgement)))
    }
}
