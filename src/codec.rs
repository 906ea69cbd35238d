//! The protobuf codec of every flexcover service: prost's, except that a request that does not
//! decode (invalid UTF-8 in a string, a wrong wire type, a truncated field) is the caller's error,
//! INVALID_ARGUMENT, not INTERNAL as tonic-prost reports it. The message names the field, never
//! its bytes.
use prost::Message;
use std::marker::PhantomData;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstEncoder};

#[derive(Debug, Clone)]
pub struct CanonicalCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for CanonicalCodec<T, U> {
    fn default() -> Self {
        Self {
            _types: PhantomData,
        }
    }
}

impl<T, U> Codec for CanonicalCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CanonicalDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        CanonicalDecoder { _type: PhantomData }
    }
}

#[derive(Debug, Clone)]
pub struct CanonicalDecoder<U> {
    _type: PhantomData<U>,
}

impl<U: Message + Default> Decoder for CanonicalDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        U::decode(buf).map(Some).map_err(|error| {
            Status::invalid_argument(format!(
                "the message does not decode as this RPC's protobuf type: {error}"
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}
