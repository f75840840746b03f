//! One KMS call: for each attempt get credentials, sign, send, and let the retry policy decide.

use alloc::string::String;
use alloc::vec::Vec;
use zeroize::Zeroize;

use crate::credentials::ProvideCredentials;
use crate::http::{Request, Response, Transport, TransportError};
use crate::kms::{self, Operation, ServiceError};
use crate::retry::{Decision, Failure};
use crate::sigv4::{self, SignableRequest, SigningParams, SigningSettings};
use crate::time::Timestamp;

use super::stats::Counters;
use super::{Runtime, Seal, SealError};

impl<T: Transport, C: ProvideCredentials, R: Runtime> Seal<T, C, R> {
    /// One KMS call with retries; returns the 2xx response.
    pub(super) fn call(&self, operation: Operation, body: Vec<u8>) -> Result<Response, SealError> {
        Counters::bump(&self.counters.calls);
        let mut request = kms::build_request(&self.settings.endpoint, operation, body);
        let unsigned_headers = request.headers.len();
        let mut state = self.retry.start();
        let result = loop {
            state.begin_attempt();
            Counters::bump(&self.counters.attempts);
            request.headers.truncate(unsigned_headers);
            let now = self.runtime.now();
            if let Err(e) = self.sign(&mut request, now, state.force_refresh()) {
                break Err(e);
            }
            let (failure, last_error) = match self.transport.send(&request) {
                Ok(response) if (200..300).contains(&response.status) => {
                    state.on_success();
                    break Ok(response);
                }
                Ok(response) => {
                    let error = ServiceError::from_response(operation, &response);
                    let failure = Failure::from_service_error(&error, &response);
                    (failure, LastError::Service(error))
                }
                Err(error) => (Failure::Transport(error.kind), LastError::Transport(error)),
            };
            let local_now = self.runtime.now();
            match state.on_failure(failure, local_now, self.random_u32()) {
                Decision::Retry { delay_ms } => {
                    Counters::bump(&self.counters.retries);
                    self.runtime.sleep_ms(delay_ms);
                }
                Decision::RefreshCredentialsAndRetry => {
                    Counters::bump(&self.counters.retries);
                    Counters::bump(&self.counters.credential_refreshes);
                }
                Decision::RetryWithCorrectedClock { .. } => {
                    Counters::bump(&self.counters.retries);
                    Counters::bump(&self.counters.clock_corrections);
                }
                Decision::GiveUp(reason) => {
                    let attempts = state.attempts();
                    break Err(match last_error {
                        LastError::Service(error) => SealError::Kms {
                            error,
                            attempts,
                            reason,
                        },
                        LastError::Transport(error) => SealError::Transport {
                            error,
                            attempts,
                            reason,
                        },
                    });
                }
            }
        };
        request.body.zeroize();
        result
    }

    /// Adds the SigV4 headers for an attempt at local time `now`.
    fn sign(
        &self,
        request: &mut Request,
        now: Timestamp,
        force_refresh: bool,
    ) -> Result<(), SealError> {
        let credentials = self
            .credentials
            .credentials(now, force_refresh)
            .map_err(SealError::Credentials)?;
        let time = self.retry.signing_time(now);
        let region = self.settings.endpoint.signing_region();
        let key =
            self.signing_keys
                .get(credentials.secret_access_key(), &time.date_stamp(), region)?;
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let output = sigv4::sign(
            &SignableRequest {
                method: request.method,
                path: &request.path_and_query,
                query: "",
                headers: &headers,
                body: &request.body,
            },
            &SigningParams {
                access_key_id: credentials.access_key_id(),
                session_token: credentials.session_token(),
                region,
                service: kms::SERVICE,
                time,
                settings: SigningSettings::default(),
            },
            &key,
        )?;
        drop(headers);
        request.headers.extend(
            output
                .headers()
                .map(|(k, v)| (String::from(k), String::from(v))),
        );
        Ok(())
    }

    fn random_u32(&self) -> u32 {
        let mut b = [0u8; 4];
        match self.runtime.fill_random(&mut b) {
            Ok(()) => u32::from_le_bytes(b),
            // Jitter is not security-relevant: without randomness wait half the cap.
            Err(_) => 1 << 31,
        }
    }
}

/// The error of the last failed attempt of a call.
enum LastError {
    Service(ServiceError),
    Transport(TransportError),
}
