//! A body read with a size cap, from any stream of byte chunks: a request's body (actix) and an
//! IdP's answer (reqwest) alike. A larger declared or actual body is refused before it is held.

use std::pin::pin;

use futures_util::{Stream, StreamExt};

/// Why a capped read stopped.
#[derive(Debug)]
pub(crate) enum CappedError<E> {
    /// The declared length, or the bytes read so far, passed the cap.
    TooLarge,
    /// The stream itself failed.
    Stream(E),
}

/// Reads `chunks` whole, unless `declared` (a `Content-Length`) or the bytes actually sent pass
/// `limit`: then it stops at once, holding no more than `limit` bytes.
pub(crate) async fn read_capped<B, E>(
    declared: Option<u64>,
    chunks: impl Stream<Item = Result<B, E>>,
    limit: usize,
) -> Result<Vec<u8>, CappedError<E>>
where
    B: AsRef<[u8]>,
{
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(CappedError::TooLarge);
    }
    let mut chunks = pin!(chunks);
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(CappedError::Stream)?;
        let chunk = chunk.as_ref();
        if body.len() + chunk.len() > limit {
            return Err(CappedError::TooLarge);
        }
        body.extend_from_slice(chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use futures_util::stream;

    use super::*;

    fn chunks(sizes: &[usize]) -> impl Stream<Item = Result<Vec<u8>, &'static str>> {
        stream::iter(
            sizes
                .iter()
                .map(|&size| Ok(vec![b'a'; size]))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn a_body_up_to_the_limit_is_read_whole() {
        let body = read_capped(Some(10), chunks(&[4, 6]), 10).await.unwrap();
        assert_eq!(body.len(), 10);
        let undeclared = read_capped(None, chunks(&[0, 10]), 10).await.unwrap();
        assert_eq!(undeclared.len(), 10);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let never_read = stream::iter([Err::<Vec<u8>, _>("read")]);
        assert!(matches!(
            read_capped(Some(11), never_read, 10).await,
            Err(CappedError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn more_bytes_than_the_limit_are_refused_whatever_was_declared() {
        for declared in [None, Some(3)] {
            assert!(matches!(
                read_capped(declared, chunks(&[6, 5]), 10).await,
                Err(CappedError::TooLarge)
            ));
        }
    }

    #[tokio::test]
    async fn a_failing_stream_says_so() {
        let failing = stream::iter([Ok(vec![1u8]), Err("reset")]);
        assert!(matches!(
            read_capped(None, failing, 10).await,
            Err(CappedError::Stream("reset"))
        ));
    }
}
