//! Real receivers for external deliveries: a small SMTP server and an HTTP
//! webhook receiver that checks the HMAC signature, both on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

/// One email as the server received it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines = self.data.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                return None;
            }
            if line.to_ascii_lowercase().starts_with(&prefix) {
                let mut value = line[prefix.len()..].trim().to_string();
                while let Some(next) = lines.peek() {
                    if next.starts_with(' ') || next.starts_with('\t') {
                        value.push_str(next);
                        lines.next();
                    } else {
                        break;
                    }
                }
                return Some(value);
            }
        }
        None
    }

    /// The Subject, with RFC 2047 encoded words decoded.
    pub fn subject(&self) -> String {
        decode_words(&self.header("Subject").unwrap_or_default())
    }
}

fn decode_words(s: &str) -> String {
    use base64::Engine;
    let mut out = Vec::new();
    for word in s.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if lower.starts_with("=?utf-8?b?") && word.ends_with("?=") {
            let b64 = &word[10..word.len() - 2];
            out.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64 word"),
            );
        } else if lower.starts_with("=?utf-8?q?") && word.ends_with("?=") {
            let q = &word[10..word.len() - 2];
            let bytes = q.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'_' => out.push(b' '),
                    b'=' if i + 2 < bytes.len() => {
                        out.push(u8::from_str_radix(&q[i + 1..i + 3], 16).expect("hex"));
                        i += 2;
                    }
                    b => out.push(b),
                }
                i += 1;
            }
        } else {
            if !out.is_empty() {
                out.push(b' ');
            }
            out.extend(word.as_bytes());
        }
    }
    String::from_utf8(out).expect("utf-8 subject")
}

/// An SMTP server that accepts every message and keeps it.
pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        Self::serve(listener)
    }

    /// A port nothing listens on yet (the server is "down"); `start_on` it later.
    pub fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    pub fn start_on(port: u16) -> SmtpSink {
        Self::serve(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn serve(listener: TcpListener) -> SmtpSink {
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let store = store.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, store);
                });
            }
        });
        SmtpSink { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

fn session(stream: TcpStream, store: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    w.write_all(b"220 sink.test ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut queued = 0;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 sink.test\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..].trim().to_string();
            to.clear();
            w.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(cmd[8..].trim().to_string());
            w.write_all(b"250 OK\r\n")?;
        } else if upper == "DATA" {
            w.write_all(b"354 end with .\r\n")?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l)? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                data.push_str(
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l),
                );
            }
            queued += 1;
            store.lock().unwrap().push(Mail {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            w.write_all(format!("250 OK queued as sink-{queued}\r\n").as_bytes())?;
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            // RSET, NOOP and the rest.
            w.write_all(b"250 OK\r\n")?;
        }
    }
}

/// One POST the webhook receiver got.
#[derive(Clone, Debug)]
pub struct Hook {
    pub idempotency_key: String,
    pub signature_ok: bool,
    pub body: serde_json::Value,
}

/// An HTTP receiver that checks `X-SafeCampus-Signature` and answers with
/// the status the test sets.
pub struct WebhookReceiver {
    pub url: String,
    pub secret: String,
    pub hooks: Arc<Mutex<Vec<Hook>>>,
    pub status: Arc<AtomicU16>,
}

pub const WEBHOOK_SECRET: &str = "webhook-secret-webhook-secret-000001";

impl WebhookReceiver {
    pub fn start() -> WebhookReceiver {
        use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
        let hooks = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (h, s) = (hooks.clone(), status.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let (h, s) = (h.clone(), s.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (h, s) = (h.clone(), s.clone());
                async move {
                    let header = |n: &str| {
                        req.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let ts = header("x-safecampus-timestamp");
                    let sig = header("x-safecampus-signature");
                    let key =
                        ring::hmac::Key::new(ring::hmac::HMAC_SHA256, WEBHOOK_SECRET.as_bytes());
                    let mut signed = format!("{ts}.").into_bytes();
                    signed.extend_from_slice(&body);
                    let expected: String = ring::hmac::sign(&key, &signed)
                        .as_ref()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    let signature_ok = !ts.is_empty() && sig == format!("v1={expected}");
                    h.lock().unwrap().push(Hook {
                        idempotency_key: header("idempotency-key"),
                        signature_ok,
                        body: serde_json::from_slice(&body).unwrap_or_default(),
                    });
                    if !signature_ok {
                        return HttpResponse::Unauthorized().finish();
                    }
                    let code = s.load(Ordering::SeqCst);
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                        .insert_header(("X-Provider-Id", "gw-1"))
                        .finish()
                }
            }))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        WebhookReceiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            secret: WEBHOOK_SECRET.to_string(),
            hooks,
            status,
        }
    }

    pub fn respond_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.hooks.lock().unwrap().clone()
    }
}
