//! OpenTelemetry export of traces, off unless `--otlp-endpoint` / `HUDDLE_OTLP_ENDPOINT` /
//! `otlp_endpoint` names a collector (OTLP over HTTP, protobuf). The spans are the ones the
//! logs already have: `request` (request id, method, route, status; huddle-server's
//! `request_id.rs`) and `write` (every change to a room, huddle-core's write path), bridged by
//! tracing-opentelemetry.
//!
//! Export never slows a request down: spans go to a bounded queue that a background thread
//! (the SDK's batch processor) sends in batches; when the collector is slow or down the export
//! times out on that thread and a full queue drops spans, never blocking the request.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

/// How long one export may take before it is given up (on the exporting thread only).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The collector's trace URL: a base URL (`http://collector:4318`) gets the standard
/// `/v1/traces` path; a URL that already ends with it is kept.
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim().trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

/// The exporter's provider; dropping it without `shutdown` may lose the last batch.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// The provider exporting to `endpoint`, and the tracer the tracing layer records with.
    pub fn start(endpoint: &str) -> anyhow::Result<(Telemetry, opentelemetry_sdk::trace::Tracer)> {
        let url = traces_url(endpoint);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!(
                "otlp_endpoint must be an http:// URL (OTLP over HTTP), not {endpoint:?}"
            );
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("otlp_endpoint: {e}"))?;
        let resource = Resource::builder()
            .with_service_name("huddle")
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        // The batch processor: its own thread, a bounded queue (2,048 spans, batches of 512,
        // every 5 s unless OTEL_BSP_* says otherwise).
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("huddle");
        Ok((Telemetry { provider }, tracer))
    }

    /// Sends what is queued (bounded by the export timeout), then stops the exporter.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "flushing traces at shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_the_traces_path_once() {
        assert_eq!(
            traces_url("http://c:4318"),
            "http://c:4318/v1/traces".to_string()
        );
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c/v1/traces"), "http://c/v1/traces");
    }
}
