//! What the YCloud and Graph API clients share besides their `reqwest::Client`
//! ([`UpstreamTuning::http_client`](crate::config::UpstreamTuning::http_client): timeouts, no
//! redirects): reading an answer without letting it grow past a cap.

/// Why an answer's body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the cap (declared or counted); reading stopped there.
    TooLarge(usize),
    /// The connection failed mid-body.
    Transport(reqwest::Error),
}

/// Reads `response`'s body, chunk by chunk, and gives up as soon as it passes `max` bytes
/// (or declares more in `Content-Length`), so an oversized answer never sits in memory.
///
/// # Errors
/// See [`BodyError`].
pub async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
    {
        return Err(BodyError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(BodyError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
