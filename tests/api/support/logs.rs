//! What the service logs, captured for the tests that check it (nothing
//! secret may be logged). One subscriber serves the whole test binary,
//! installed at the first capture. Every spawned server runs its requests
//! inside a `test_app` span naming its app, so an event goes to the captures
//! of the app that logged it; an event that names no app (outside any
//! request) goes to every capture. A capture thus misses nothing its own app
//! logs, and holds nothing another test's server logged.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// The name of the span a test server's requests run in.
pub const APP_SPAN: &str = "test_app";

/// A number for each app spawned in this process.
pub fn next_app_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

type Buffer = Arc<Mutex<String>>;

/// The open captures, with the app each listens to.
static CAPTURES: Mutex<Vec<(u64, Buffer)>> = Mutex::new(Vec::new());
/// How many captures are open: while none is, the subscriber enables
/// nothing, so that other tests pay one atomic load per log call.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Every log line, at trace level, that the app with this id (or no app)
/// writes from now until the capture is dropped.
pub struct LogCapture {
    buffer: Buffer,
}

impl LogCapture {
    pub fn start(app: u64) -> LogCapture {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| tracing_subscriber::registry().with(Router).init());
        let buffer = Buffer::default();
        CAPTURES.lock().unwrap().push((app, buffer.clone()));
        OPEN.fetch_add(1, Ordering::SeqCst);
        tracing::info!("log capture started");
        LogCapture { buffer }
    }

    pub fn text(&self) -> String {
        self.buffer.lock().unwrap().clone()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURES
            .lock()
            .unwrap()
            .retain(|(_, b)| !Arc::ptr_eq(b, &self.buffer));
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The app a span's requests belong to.
struct AppTag(u64);
/// A span's fields as text.
struct SpanFields(String);

/// Field values as `name=value`, strings as they are; the `app` field of
/// the app span kept as a number.
#[derive(Default)]
struct Text {
    text: String,
    app: Option<u64>,
}

impl Visit for Text {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "app" {
            self.app = Some(value);
        }
        self.record_debug(field, &value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        match field.name() {
            "message" => write!(self.text, "{value:?}"),
            name => write!(self.text, "{name}={value:?}"),
        }
        .unwrap();
    }
}

struct Router;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Router {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, _: &Metadata<'_>, _: Context<'_, S>) -> bool {
        OPEN.load(Ordering::Relaxed) > 0
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Text::default();
        attrs.record(&mut fields);
        let mut ext = span.extensions_mut();
        if let (APP_SPAN, Some(app)) = (attrs.metadata().name(), fields.app) {
            ext.insert(AppTag(app));
        }
        ext.insert(SpanFields(fields.text));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Text::default();
        values.record(&mut fields);
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(text)) = ext.get_mut::<SpanFields>() {
            text.push(' ');
            text.push_str(&fields.text);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = format!("{} {}: ", meta.level(), meta.target());
        let mut app = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(AppTag(a)) = ext.get::<AppTag>() {
                    app = Some(*a);
                }
                let fields = ext.get::<SpanFields>().map_or("", |f| f.0.as_str());
                write!(line, "{}{{{fields}}}: ", span.name()).unwrap();
            }
        }
        let mut fields = Text::default();
        event.record(&mut fields);
        line.push_str(&fields.text);
        line.push('\n');
        for (owner, buffer) in CAPTURES.lock().unwrap().iter() {
            if app.is_none_or(|a| a == *owner) {
                buffer.lock().unwrap().push_str(&line);
            }
        }
    }
}
