//! Prometheus metrics (`--metrics-listen ADDR`): every scrape asks the node for a fresh
//! [`Status`] and encodes it with prometheus-client in the OpenMetrics text format. The values
//! live in the engine and the XDP maps already, so nothing is double-counted here: a custom
//! collector turns the snapshot into metric families. The HTTP side is a minimal HTTP/1.1
//! responder (GET /metrics, one request per connection).

use std::net::SocketAddr;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

use super::StatusHandle;
use super::snapshot::{InstanceView, Status};
use crate::engine::Stats;

/// The OpenMetrics content type prometheus-client encodes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Receive error counters, by keepalived `vrrp_stats` name (the `reason` label).
pub fn receive_errors(s: &Stats) -> [(&'static str, u64); 10] {
    [
        ("packet_len_err", s.packet_len_err),
        ("ip_ttl_err", s.ip_ttl_err),
        ("invalid_type_rcvd", s.invalid_type_rcvd),
        ("advert_interval_err", s.advert_interval_err),
        ("addr_list_err", s.addr_list_err),
        ("invalid_authtype", s.invalid_authtype),
        ("authtype_mismatch", s.authtype_mismatch),
        ("auth_failure", s.auth_failure),
        ("chk_err", s.chk_err),
        ("vers_err", s.vers_err),
    ]
}

/// The OpenMetrics text of `status`.
pub fn encode(status: &Status) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(StatusCollector(status.clone())));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

#[derive(Debug)]
struct StatusCollector(Status);

type Labels = Vec<(&'static str, String)>;

fn instance_labels(i: &InstanceView) -> Labels {
    vec![
        ("instance", i.name.clone()),
        ("interface", i.interface.clone()),
        ("vrid", i.vrid.to_string()),
        ("family", i.family.clone()),
    ]
}

fn with(mut labels: Labels, extra: &[(&'static str, String)]) -> Labels {
    labels.extend_from_slice(extra);
    labels
}

impl StatusCollector {
    fn gauges(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, i64)>,
    ) -> std::fmt::Result {
        let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (labels, v) in samples {
            metric.encode_family(&labels)?.encode_gauge(&v)?;
        }
        Ok(())
    }

    fn counters(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, u64)>,
    ) -> std::fmt::Result {
        let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
        for (labels, v) in samples {
            metric
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(&v, None)?;
        }
        Ok(())
    }

    /// One counter family per instance from one `Stats` field.
    fn stat(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        field: fn(&Stats) -> u64,
    ) -> std::fmt::Result {
        let samples = self
            .0
            .instances
            .iter()
            .map(|i| (instance_labels(i), field(&i.stats)));
        self.counters(encoder, name, help, samples)
    }
}

impl Collector for StatusCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let instances = &self.0.instances;
        let e = &mut encoder;
        self.gauges(
            e,
            "vrrpd_instance_state",
            "Instance state as keepalived numbers it: INIT 0, BACKUP 1, MASTER 2, FAULT 3, STOP 98",
            instances
                .iter()
                .map(|i| (instance_labels(i), i64::from(i.state_number))),
        )?;
        self.gauges(
            e,
            "vrrpd_instance_base_priority",
            "Configured priority",
            instances
                .iter()
                .map(|i| (instance_labels(i), i64::from(i.base_priority))),
        )?;
        self.gauges(
            e,
            "vrrpd_instance_effective_priority",
            "Priority after trackers (the one advertised)",
            instances
                .iter()
                .map(|i| (instance_labels(i), i64::from(i.effective_priority))),
        )?;
        self.gauges(
            e,
            "vrrpd_instance_gate_open",
            "1 while the VIPs are installed and the XDP ARP/ND gate is open",
            instances
                .iter()
                .map(|i| (instance_labels(i), i64::from(i.gate_open))),
        )?;
        self.counters(
            e,
            "vrrpd_instance_transitions",
            "State transitions by from/to state",
            instances.iter().flat_map(|i| {
                i.transitions_by.iter().map(move |t| {
                    (
                        with(
                            instance_labels(i),
                            &[("from", t.from.clone()), ("to", t.to.clone())],
                        ),
                        t.count,
                    )
                })
            }),
        )?;
        self.stat(
            e,
            "vrrpd_adverts_sent",
            "Adverts sent (keepalived advert_sent)",
            |s| s.advert_sent,
        )?;
        self.stat(
            e,
            "vrrpd_adverts_received",
            "Adverts that reached the instance (keepalived advert_rcvd)",
            |s| s.advert_rcvd,
        )?;
        self.stat(
            e,
            "vrrpd_priority_zero_sent",
            "Priority-0 adverts sent (keepalived pri_zero_sent)",
            |s| s.pri_zero_sent,
        )?;
        self.stat(
            e,
            "vrrpd_priority_zero_received",
            "Priority-0 adverts received (keepalived pri_zero_rcvd)",
            |s| s.pri_zero_rcvd,
        )?;
        self.stat(
            e,
            "vrrpd_become_master",
            "Transitions to MASTER (keepalived become_master)",
            |s| s.become_master,
        )?;
        self.stat(
            e,
            "vrrpd_release_master",
            "Transitions out of MASTER (keepalived release_master)",
            |s| s.release_master,
        )?;
        self.counters(
            e,
            "vrrpd_receive_errors",
            "Received adverts rejected or flagged, by keepalived vrrp_stats name",
            instances.iter().flat_map(|i| {
                receive_errors(&i.stats)
                    .into_iter()
                    .map(move |(reason, v)| {
                        (with(instance_labels(i), &[("reason", reason.into())]), v)
                    })
            }),
        )?;
        {
            let mut metric = e.encode_descriptor(
                "vrrpd_detection_latency_seconds",
                "How late after the Master_Down deadline each takeover for lack of adverts ran",
                None,
                MetricType::Histogram,
            )?;
            for i in instances {
                let h = &i.detection_latency;
                metric
                    .encode_family(&instance_labels(i))?
                    .encode_histogram::<NoLabelSet>(h.sum_s, h.count, &h.buckets(), None)?;
            }
        }
        self.gauges(
            e,
            "vrrpd_xdp_attached",
            "1 per interface with the XDP program attached, labelled with its mode",
            self.0.interfaces.iter().map(|x| {
                (
                    vec![("interface", x.name.clone()), ("mode", x.xdp_mode.clone())],
                    1,
                )
            }),
        )?;
        self.counters(
            e,
            "vrrpd_xdp_packets",
            "XDP program counters by vrrp_common::Counter name (ring_full = adverts lost to a full \
             ring buffer)",
            self.0.interfaces.iter().flat_map(|x| {
                x.counters.iter().map(move |(counter, v)| {
                    (
                        vec![("interface", x.name.clone()), ("counter", counter.clone())],
                        *v,
                    )
                })
            }),
        )?;
        Ok(())
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, status: StatusHandle) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!("metrics: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let status = status.clone();
        tokio::spawn(async move {
            if let Err(e) = respond(stream, &status).await {
                debug!("metrics: {peer}: {e}");
            }
        });
    }
}

/// Binds the metrics listener (before the node starts, so a wrong address fails start-up).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Requests larger than this are refused: a scrape is one short line and a few headers.
const MAX_REQUEST: usize = 8192;

async fn respond(mut stream: TcpStream, status: &StatusHandle) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > MAX_REQUEST {
            return reply(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "",
            )
            .await;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut words = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => match status.get().await {
            Some(s) => reply(&mut stream, "200 OK", CONTENT_TYPE, &encode(&s)).await,
            None => {
                reply(
                    &mut stream,
                    "503 Service Unavailable",
                    "text/plain",
                    "vrrpd is stopping\n",
                )
                .await
            }
        },
        ("GET", _) => reply(&mut stream, "404 Not Found", "text/plain", "try /metrics\n").await,
        _ => reply(&mut stream, "405 Method Not Allowed", "text/plain", "").await,
    }
}

async fn reply(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::status::recorder::LatencyHistogram;
    use crate::status::snapshot::{InterfaceView, TransitionCount, sample_instance};

    fn status() -> Status {
        let mut h = LatencyHistogram::default();
        h.observe(0.0007);
        let stats = Stats {
            advert_sent: 12,
            ip_ttl_err: 3,
            ..Stats::default()
        };
        let i = InstanceView {
            effective_priority: 90,
            transitions_by: vec![TransitionCount {
                from: "BACKUP".into(),
                to: "MASTER".into(),
                count: 1,
            }],
            detection_latency: h,
            stats,
            ..sample_instance()
        };
        Status {
            schema: 1,
            vrrpd_version: "0".into(),
            pid: 1,
            taken: i.since,
            instances: vec![i],
            interfaces: vec![InterfaceView {
                name: "eth0".into(),
                ifindex: 2,
                xdp_mode: "skb".into(),
                counters: BTreeMap::from([("ring_full".to_string(), 4), ("frames".into(), 9)]),
                counters_error: None,
            }],
            scripts: vec![],
        }
    }

    #[test]
    fn encodes_the_snapshot_as_openmetrics() {
        let text = encode(&status());
        let l = r#"instance="VI_1",interface="eth0",vrid="51",family="ipv4""#;
        for want in [
            format!("vrrpd_instance_state{{{l}}} 2"),
            format!("vrrpd_instance_effective_priority{{{l}}} 90"),
            format!("vrrpd_instance_transitions_total{{{l},from=\"BACKUP\",to=\"MASTER\"}} 1"),
            format!("vrrpd_adverts_sent_total{{{l}}} 12"),
            format!("vrrpd_receive_errors_total{{{l},reason=\"ip_ttl_err\"}} 3"),
            format!("vrrpd_detection_latency_seconds_bucket{{le=\"0.001\",{l}}} 1"),
            format!("vrrpd_detection_latency_seconds_bucket{{le=\"0.002\",{l}}} 1"),
            format!("vrrpd_detection_latency_seconds_bucket{{le=\"+Inf\",{l}}} 1"),
            format!("vrrpd_detection_latency_seconds_count{{{l}}} 1"),
            "vrrpd_xdp_packets_total{interface=\"eth0\",counter=\"ring_full\"} 4".to_string(),
            "vrrpd_xdp_attached{interface=\"eth0\",mode=\"skb\"} 1".to_string(),
        ] {
            assert!(
                text.lines().any(|x| x == want),
                "missing {want:?} in\n{text}"
            );
        }
        assert!(text.contains("# TYPE vrrpd_detection_latency_seconds histogram"));
        assert!(text.ends_with("# EOF\n"));
    }
}
