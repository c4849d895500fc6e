//! Which server certificates we trust: the public web roots (webpki-roots),
//! plus what the user gives.
//!
//! `--ca-cert FILE` adds the file's certificates as trust anchors for
//! certificates they signed (hostname checked), and also pins them: a
//! server presenting exactly one of them is trusted as it is. That is how
//! msmtp and swaks treat a self-signed certificate, and it is needed
//! because the usual `openssl req -x509` recipe marks its certificate as a
//! CA, which webpki then refuses as the server's own (`CaUsedAsEndEntity`).
//! `--tls-fingerprint SHA256` (msmtp's `tls_fingerprint`) accepts only the
//! certificate with that fingerprint, and nothing else.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::settings::Sourced;

/// A SHA-256 certificate fingerprint.
pub use crate::settings::pin::Fingerprint;

/// The TLS setup for one run, shared by every connection.
pub struct Tls {
    pub config: Arc<ClientConfig>,
    verifier: Arc<Verifier>,
}

impl Tls {
    /// Trust settings from `--ca-cert` and `--tls-fingerprint`.
    pub fn new(ca_cert: Option<&Sourced<PathBuf>>, fingerprints: &[Fingerprint]) -> Result<Tls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let pinned = match ca_cert {
            Some(path) => read_certificates(path)?,
            None => Vec::new(),
        };
        for (i, cert) in pinned.iter().enumerate() {
            // Parses the certificate: a file of garbage between PEM markers
            // is refused here, not at the first connection.
            roots.add(cert.clone()).map_err(|e| {
                let (from, path) = ca_cert.map(shown).unwrap_or_default();
                anyhow::anyhow!(
                    "{from}: certificate {} in {path} is not a valid X.509 certificate ({e})",
                    i + 1
                )
            })?;
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .context("cannot set up certificate checks")?;
        let verifier = Arc::new(Verifier {
            webpki,
            pinned,
            fingerprints: fingerprints.to_vec(),
            algorithms: provider.signature_verification_algorithms,
            seen: Mutex::new(None),
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("cannot set up TLS")?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        Ok(Tls {
            config: Arc::new(config),
            verifier,
        })
    }

    /// The fingerprint of the last certificate a server presented, for
    /// advice after a refused one.
    pub fn last_seen(&self) -> Option<Fingerprint> {
        *self.verifier.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where the certificate file was named (`--ca-cert` or the profile's
/// file and key) and its path, for errors.
fn shown(ca_cert: &Sourced<PathBuf>) -> (&str, String) {
    (&ca_cert.from, ca_cert.value.display().to_string())
}

/// Every certificate in a PEM file (or one DER certificate); a file with
/// none is an error, not an empty trust list.
fn read_certificates(ca_cert: &Sourced<PathBuf>) -> Result<Vec<CertificateDer<'static>>> {
    let (from, path) = shown(ca_cert);
    let bytes = fs_err::read(&ca_cert.value)
        .with_context(|| format!("{from}: cannot read the certificate file"))?;
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&bytes) {
        let cert =
            item.map_err(|e| anyhow::anyhow!("{from}: cannot read the PEM in {path}: {e}"))?;
        certs.push(cert);
    }
    // A binary certificate (DER) starts with an ASN.1 SEQUENCE.
    if certs.is_empty() && bytes.first() == Some(&0x30) {
        certs.push(CertificateDer::from(bytes));
    }
    if certs.is_empty() {
        bail!(
            "{from}: {path} is not a certificate: it has no -----BEGIN CERTIFICATE----- block. \
             Give the server's certificate or the authority that signed it, in PEM"
        );
    }
    Ok(certs)
}

/// SHA-256 of a certificate's DER bytes.
pub fn fingerprint(cert: &[u8]) -> Fingerprint {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// `AB:CD:…`, as openssl and msmtp print fingerprints.
pub fn fingerprint_text(fp: &Fingerprint) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    fingerprints: Vec<Fingerprint>,
    algorithms: WebPkiSupportedAlgorithms,
    seen: Mutex<Option<Fingerprint>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint(end_entity);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(fp);
        if !self.fingerprints.is_empty() {
            // A pin is a pin: nothing else is trusted.
            return if self.fingerprints.contains(&fp) {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::General(format!(
                    "the server's certificate has SHA-256 fingerprint {}, not the one given with --tls-fingerprint",
                    fingerprint_text(&fp)
                )))
            };
        }
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_the_usual_spellings() {
        let fp: Fingerprint = std::array::from_fn(|i| i as u8 * 7);
        let text = fingerprint_text(&fp);
        use crate::settings::pin::parse_fingerprint;
        assert_eq!(parse_fingerprint(&text), Some(fp));
        assert_eq!(
            parse_fingerprint(&text.replace(':', "").to_lowercase()),
            Some(fp)
        );
        assert_eq!(
            parse_fingerprint(&format!("sha256 Fingerprint={text}")),
            Some(fp)
        );
        assert_eq!(parse_fingerprint("AB:CD"), None);
        assert_eq!(parse_fingerprint(&"zz".repeat(32)), None);
    }
}
