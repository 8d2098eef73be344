//! A relying party's back-channel logout endpoint on loopback, for the tests that relay a logout
//! token to it: it records what it got and answers the statuses it is told to.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The relying party's back-channel endpoint: records each request's content type and body,
/// answers the statuses it is told to (then 200).
#[derive(Clone)]
pub(crate) struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<(String, String)>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!(
                "http://127.0.0.1:{}/auth/backchannel",
                listener.local_addr().unwrap().port()
            ),
            got: Arc::default(),
            statuses: Arc::default(),
        };
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serving.clone().answer(stream));
            }
        });
        receiver
    }

    async fn answer(self, mut stream: tokio::net::TcpStream) {
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 4096];
        let (head_end, length) = loop {
            let read = stream.read(&mut buffer).await.unwrap();
            if read == 0 {
                return;
            }
            bytes.extend_from_slice(&buffer[..read]);
            if let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |value| value.trim().parse::<usize>().unwrap());
                break (end + 4, length);
            }
        };
        while bytes.len() < head_end + length {
            let read = stream.read(&mut buffer).await.unwrap();
            bytes.extend_from_slice(&buffer[..read]);
        }
        let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
        let content_type = head
            .lines()
            .find_map(|line| line.strip_prefix("content-type:"))
            .unwrap_or("")
            .trim()
            .to_owned();
        let body = String::from_utf8_lossy(&bytes[head_end..]).into_owned();
        self.got.lock().unwrap().push((content_type, body));
        let status = self.statuses.lock().unwrap().pop_front().unwrap_or(200);
        let answer =
            format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        stream.write_all(answer.as_bytes()).await.unwrap();
    }

    pub(crate) fn received(&self) -> Vec<(String, String)> {
        self.got.lock().unwrap().clone()
    }

    pub(crate) fn answer_next(&self, status: u16) {
        self.statuses.lock().unwrap().push_back(status);
    }
}
