//! The ureq agent: its configuration, connector chain and the one-write connection wrapper.

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, NextTimeout, Transport as UreqTransportIo,
};

use super::TransportConfig;
use super::resolver::CachingResolver;

pub(super) fn build_agent(config: &TransportConfig, proxy: Option<ureq::Proxy>) -> ureq::Agent {
    let agent_config = ureq::Agent::config_builder()
        .timeout_connect(Some(config.connect_timeout))
        .timeout_global(Some(config.call_timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(proxy)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(config.tls.root_certs())
                .build(),
        )
        .user_agent(concat!("kms-seal/", env!("CARGO_PKG_VERSION")))
        // ureq's default buffers are 128 KiB each way per connection layer (TCP, then TLS
        // again), zero-filled when a connection opens: about a tenth of a one-shot CLI run's
        // CPU time and 330 KiB of its peak RSS. KMS requests and response heads are a few
        // KiB; bodies stream through the buffers.
        .input_buffer_size(IO_BUFFER_BYTES)
        .output_buffer_size(IO_BUFFER_BYTES)
        .build();
    ureq::Agent::with_parts(
        agent_config,
        // ureq's default chain (CONNECT proxy, TCP, rustls) with kms-seal's TCP layer, which
        // makes four system calls per kept-alive request where ureq's makes ten.
        ().chain(ureq::unversioned::transport::ConnectProxyConnector::default())
            .chain(crate::tcp::LeanTcpConnector)
            .chain(ureq::unversioned::transport::RustlsConnector::default())
            .chain(CoalescingConnector),
        CachingResolver::default(),
    )
}

/// Wraps each connection (plain TCP or TLS) in a [`CoalescingTransport`].
#[derive(Debug)]
pub(super) struct CoalescingConnector;

impl<In: UreqTransportIo> Connector<In> for CoalescingConnector {
    type Out = CoalescingTransport;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| CoalescingTransport {
            inner: Box::new(inner),
            pending: Vec::new(),
        }))
    }
}

/// Sends a request in one write.
///
/// ureq transmits the request head and then the body separately: two system calls, and the
/// server may wake up for the head alone and again for the body. This transport keeps what
/// ureq transmits until ureq first waits for the response (or a buffer's worth has gathered)
/// and then passes it on at once: over TLS that is also one record instead of two.
#[derive(Debug)]
pub(super) struct CoalescingTransport {
    inner: Box<dyn UreqTransportIo>,
    pending: Vec<u8>,
}

impl CoalescingTransport {
    fn flush(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let mut sent = 0;
        while sent < self.pending.len() {
            let output = self.inner.buffers().output();
            let n = output.len().min(self.pending.len() - sent);
            output[..n].copy_from_slice(&self.pending[sent..sent + n]);
            self.inner.transmit_output(n, timeout)?;
            sent += n;
        }
        self.pending.clear();
        Ok(())
    }
}

impl UreqTransportIo for CoalescingTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let output = self.inner.buffers().output();
        self.pending
            .extend_from_slice(&output[..amount.min(output.len())]);
        if self.pending.len() >= output.len() {
            self.flush(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.flush(timeout)?;
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.pending.is_empty() && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// Size of each of a connection's input and output buffers. A response head must fit in the
/// input buffer and a request head in the output buffer.
pub(super) const IO_BUFFER_BYTES: usize = 16 * 1024;
