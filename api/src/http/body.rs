//! Request bodies, read up to a limit.

use super::errors::HttpError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, web};
use futures::StreamExt;

/// Reads the body up to the configured limit.
pub(crate) async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, HttpError> {
    let too_large = || {
        HttpError::bad_input(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            HttpError::bad_input(
                StatusCode::BAD_REQUEST,
                format!("could not read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
