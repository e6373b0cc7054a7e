//! A TCP chaos proxy for fault injection between processing and a provider: it forwards,
//! or refuses connections (`break_link`), or accepts them and never answers (`hang`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

const PASS: u8 = 0;
const REFUSE: u8 = 1;
const HANG: u8 = 2;

pub struct ChaosProxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl ChaosProxy {
    pub async fn start(target: SocketAddr) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(PASS));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (task_mode, task_connections) = (mode.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                match task_mode.load(Ordering::SeqCst) {
                    REFUSE => drop(inbound),
                    HANG => {
                        let held = tokio::spawn(async move {
                            let _keep = &mut inbound;
                            std::future::pending::<()>().await;
                        });
                        task_connections.lock().unwrap().push(held.abort_handle());
                    }
                    _ => {
                        let piped = tokio::spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        });
                        task_connections.lock().unwrap().push(piped.abort_handle());
                    }
                }
            }
        })
        .abort_handle();
        ChaosProxy {
            addr,
            mode,
            connections,
            accept,
        }
    }

    fn cut_all(&self) {
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// The provider is unreachable: open connections are cut, new ones refused.
    pub fn break_link(&self) {
        self.mode.store(REFUSE, Ordering::SeqCst);
        self.cut_all();
    }

    /// The provider accepts connections and never answers (a timeout).
    pub fn hang(&self) {
        self.mode.store(HANG, Ordering::SeqCst);
        self.cut_all();
    }

    /// Back to forwarding.
    pub fn restore(&self) {
        self.mode.store(PASS, Ordering::SeqCst);
        self.cut_all();
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}
