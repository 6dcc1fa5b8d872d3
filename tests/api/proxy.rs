//! A TCP proxy between a test client and the server that can lose what the server answers
//! (after the server has applied the request) and cut every open connection: the faults a
//! client's retries and resumes exist for.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

pub struct Proxy {
    pub addr: SocketAddr,
    /// Server answers still to lose: each closes its connection instead.
    drop_answers: Arc<AtomicUsize>,
    cut: broadcast::Sender<()>,
}

impl Proxy {
    /// A proxy in front of `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let upstream: SocketAddr = upstream.parse().expect("host:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let drop_answers = Arc::new(AtomicUsize::new(0));
        let (cut, _) = broadcast::channel(4);
        let (drops, cuts) = (drop_answers.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, drops.clone(), cuts.subscribe()));
            }
        });
        Proxy {
            addr,
            drop_answers,
            cut,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next `n` answers from the server never reach the client: their connections close
    /// as the answers arrive.
    pub fn lose_answers(&self, n: usize) {
        self.drop_answers.store(n, Ordering::SeqCst);
    }

    /// Closes every open connection at once.
    pub fn cut(&self) {
        let _ = self.cut.send(());
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    drops: Arc<AtomicUsize>,
    mut cut: broadcast::Receiver<()>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = client_read.read(&mut buf).await.unwrap_or(0);
            if n == 0 || server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = server_read.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            let lose = drops
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
                .is_ok();
            if lose || client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Either side ending, or a cut, drops both connections.
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cut.recv() => {}
    }
}
