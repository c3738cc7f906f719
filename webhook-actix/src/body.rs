//! Reading the raw request body with a limit.

use actix_web::http::Version;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::{HttpRequest, dev};
use bytes::Bytes;
use futures_util::StreamExt as _;
use webhook_core::Rejection;
use webhook_core::body_buffer::{BodyBuffer, TooLarge};

/// Reads the payload as sent (no decompression: the signature covers the bytes on the wire), up
/// to `limit` bytes. A `Content-Length` above the limit is refused before anything is read; a
/// body without one (chunked) is refused as soon as it passes the limit, so at most `limit` bytes
/// are ever buffered.
pub(crate) async fn read_limited(
    req: &HttpRequest,
    mut payload: dev::Payload,
    limit: usize,
) -> Result<Bytes, Rejection> {
    let declared = check_declared(req, limit)?;
    // HTTP/1 gives a request without a body no payload; HTTP/2 gives every request one (its
    // body may have no length, nor Transfer-Encoding), so none there means it was taken.
    let sent = declared.is_some_and(|len| len > 0)
        || req.headers().contains_key(TRANSFER_ENCODING)
        || req.version() == Version::HTTP_2;
    if matches!(payload, dev::Payload::None) && sent {
        // A body was sent, but an earlier extractor of the handler has taken it.
        return Err(Rejection::Misconfigured(
            "the request body was already read by another extractor: take VerifiedEvent or VerifiedDelivery as the handler's only body extractor",
        ));
    }
    let mut body = BodyBuffer::new(limit, declared);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Rejection::BodyRead)?;
        body.push(chunk)
            .map_err(|TooLarge| Rejection::PayloadTooLarge { limit })?;
    }
    Ok(body.finish())
}

/// The declared `Content-Length`, refused (413) when above `limit`.
pub(crate) fn check_declared(req: &HttpRequest, limit: usize) -> Result<Option<u64>, Rejection> {
    let declared = content_length(req);
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Rejection::PayloadTooLarge { limit });
    }
    Ok(declared)
}

fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use futures_util::stream;

    use super::*;

    fn streamed(chunks: &[&'static [u8]]) -> dev::Payload {
        let items: Vec<Result<Bytes, actix_web::error::PayloadError>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        dev::Payload::Stream {
            payload: Box::pin(stream::iter(items)),
        }
    }

    #[actix_web::test]
    async fn joins_chunks_up_to_the_limit() {
        let req = TestRequest::default().to_http_request();
        let body = read_limited(&req, streamed(&[b"ab", b"cd", b"e"]), 5)
            .await
            .unwrap();
        assert_eq!(&body[..], b"abcde");
        let body = read_limited(&req, streamed(&[b"only"]), 5).await.unwrap();
        assert_eq!(&body[..], b"only");
        let body = read_limited(&req, streamed(&[]), 5).await.unwrap();
        assert!(body.is_empty());
    }

    #[actix_web::test]
    async fn stops_past_the_limit_without_content_length() {
        let req = TestRequest::default().to_http_request();
        let err = read_limited(&req, streamed(&[b"abc", b"def"]), 5)
            .await
            .unwrap_err();
        assert_eq!(err, Rejection::PayloadTooLarge { limit: 5 });
    }

    #[actix_web::test]
    async fn refuses_a_large_content_length_before_reading() {
        let req = TestRequest::default()
            .insert_header(("content-length", "6"))
            .to_http_request();
        // The stream would fail if polled: the declared length alone decides.
        let failing: Vec<Result<Bytes, actix_web::error::PayloadError>> =
            vec![Err(actix_web::error::PayloadError::Incomplete(None))];
        let payload: dev::Payload = dev::Payload::Stream {
            payload: Box::pin(stream::iter(failing)),
        };
        let err = read_limited(&req, payload, 5).await.unwrap_err();
        assert_eq!(err, Rejection::PayloadTooLarge { limit: 5 });
    }

    #[actix_web::test]
    async fn a_body_taken_by_another_extractor_is_a_misconfiguration() {
        let req = TestRequest::default()
            .insert_header(("content-length", "2"))
            .to_http_request();
        let err = read_limited(&req, dev::Payload::None, 5).await.unwrap_err();
        assert!(matches!(err, Rejection::Misconfigured(_)), "{err:?}");
        // A chunked body, which has no length.
        let req = TestRequest::default()
            .insert_header(("transfer-encoding", "chunked"))
            .to_http_request();
        let err = read_limited(&req, dev::Payload::None, 5).await.unwrap_err();
        assert!(matches!(err, Rejection::Misconfigured(_)), "{err:?}");
        // HTTP/2, where a body need not declare its length: any request has a payload.
        let req = TestRequest::default()
            .version(actix_web::http::Version::HTTP_2)
            .to_http_request();
        let err = read_limited(&req, dev::Payload::None, 5).await.unwrap_err();
        assert!(matches!(err, Rejection::Misconfigured(_)), "{err:?}");
        // No body sent over HTTP/1: an empty body, which the signature check judges.
        let req = TestRequest::default().to_http_request();
        assert!(
            read_limited(&req, dev::Payload::None, 5)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[actix_web::test]
    async fn a_broken_stream_is_a_read_error() {
        let req = TestRequest::default().to_http_request();
        let failing: Vec<Result<Bytes, actix_web::error::PayloadError>> = vec![
            Ok(Bytes::from_static(b"a")),
            Err(actix_web::error::PayloadError::Incomplete(None)),
        ];
        let payload: dev::Payload = dev::Payload::Stream {
            payload: Box::pin(stream::iter(failing)),
        };
        assert_eq!(
            read_limited(&req, payload, 5).await.unwrap_err(),
            Rejection::BodyRead
        );
    }
}
