//! A pinned server certificate (`--tls-fingerprint`, or the profile's
//! `tls_fingerprints`), as the user writes it.

/// SHA-256 of a certificate's DER bytes.
pub type Fingerprint = [u8; 32];

/// Reads `AB:CD:…` or plain hex (64 digits), with an optional `sha256:`.
pub fn parse_fingerprint(text: &str) -> Option<Fingerprint> {
    let t = text.trim();
    let t = t
        .strip_prefix("sha256:")
        .or_else(|| t.strip_prefix("SHA256:"))
        .or_else(|| t.strip_prefix("sha256 Fingerprint="))
        .or_else(|| t.strip_prefix("SHA256 Fingerprint="))
        .unwrap_or(t);
    let hex: String = t.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}
