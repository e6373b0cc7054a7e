//! A private certificate authority for `paymesh demo --tls` (and for tests): one CA, and a
//! server certificate for each participant, valid for `127.0.0.1` and `localhost`.
//!
//! Made with rcgen on ring (pure Rust). Private keys are written 0600; the CA's
//! certificate (`DIR/tls/ca.pem`) is what clients trust with `--ca-file`, and what a
//! person imports into a browser to open the demo's portals without a warning.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// The names every demo certificate is valid for: the demo listens on loopback only.
pub const LOCAL_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// How long the demo's certificates are valid.
const CA_VALID_DAYS: i64 = 3650;
const SERVER_VALID_DAYS: i64 = 825;

/// A certificate authority held in memory: its certificate (PEM) and its signing key.
pub struct Authority {
    cert_pem: String,
    key: KeyPair,
    name: String,
}

/// A server's certificate and key, PEM.
pub struct ServerCertificate {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Authority {
    /// A new CA named `name` (its certificate's common name).
    pub fn new(name: &str) -> Result<Authority, rcgen::Error> {
        let key = KeyPair::generate()?;
        let cert_pem = ca_params(name).self_signed(&key)?.pem();
        Ok(Authority {
            cert_pem,
            key,
            name: name.to_owned(),
        })
    }

    /// A CA saved earlier ([`Authority::save`]).
    pub fn load(cert: &Path, key: &Path, name: &str) -> Result<Authority, String> {
        let cert_pem =
            std::fs::read_to_string(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
        let key_pem =
            std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| format!("{}: {e}", key.display()))?;
        Ok(Authority {
            cert_pem,
            key,
            name: name.to_owned(),
        })
    }

    /// The CA certificate, PEM: what clients trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by this CA.
    pub fn issue(&self, common_name: &str, names: &[&str]) -> Result<ServerCertificate, String> {
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .map_err(|e| e.to_string())?;
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(SERVER_VALID_DAYS);
        let issuer = Issuer::new(ca_params(&self.name), &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
        Ok(ServerCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Writes the certificate and (0600) the key.
    pub fn save(&self, cert: &Path, key: &Path) -> std::io::Result<()> {
        write_public(cert, &self.cert_pem)?;
        write_secret(key, &self.key.serialize_pem())
    }
}

/// The CA's parameters; rebuilt identically to sign with a CA loaded from its files (the
/// issuer's name and key identifier come from here and from the key).
fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "paymesh");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(CA_VALID_DAYS);
    params
}

impl ServerCertificate {
    /// Writes the certificate and (0600) the key.
    pub fn save(&self, cert: &Path, key: &Path) -> std::io::Result<()> {
        write_public(cert, &self.cert_pem)?;
        write_secret(key, &self.key_pem)
    }
}

fn write_public(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// A private key: created 0600 before a byte is written, so it is never readable by others.
fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Where the demo keeps a participant's certificate and key: `DIR/<key>/tls/`.
pub struct ServerFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The demo's PKI on disk.
pub struct DemoPki {
    /// `DIR/tls/ca.pem`: trusted by every client (`--ca-file`).
    pub ca_file: PathBuf,
}

/// The CA's common name.
const DEMO_CA_NAME: &str = "paymesh demo CA";

/// Makes (or reuses) the demo's CA in `DIR/tls/` and a certificate for each participant
/// in `keys` (`DIR/<key>/tls/{cert,key}.pem`); a participant whose files exist keeps them.
pub fn prepare(dir: &Path, keys: &[&str]) -> Result<(DemoPki, Vec<ServerFiles>), String> {
    let tls_dir = dir.join("tls");
    std::fs::create_dir_all(&tls_dir).map_err(|e| format!("{}: {e}", tls_dir.display()))?;
    let ca_file = tls_dir.join("ca.pem");
    let ca_key = tls_dir.join("ca-key.pem");
    let authority = if ca_file.exists() && ca_key.exists() {
        Authority::load(&ca_file, &ca_key, DEMO_CA_NAME)?
    } else {
        let authority = Authority::new(DEMO_CA_NAME).map_err(|e| e.to_string())?;
        authority
            .save(&ca_file, &ca_key)
            .map_err(|e| format!("{}: {e}", tls_dir.display()))?;
        authority
    };
    let mut files = Vec::new();
    for key in keys {
        let server_dir = dir.join(key).join("tls");
        std::fs::create_dir_all(&server_dir)
            .map_err(|e| format!("{}: {e}", server_dir.display()))?;
        let server = ServerFiles {
            cert: server_dir.join("cert.pem"),
            key: server_dir.join("key.pem"),
        };
        if !(server.cert.exists() && server.key.exists()) {
            authority
                .issue(&format!("paymesh demo {key}"), &LOCAL_NAMES)?
                .save(&server.cert, &server.key)
                .map_err(|e| format!("{}: {e}", server_dir.display()))?;
        }
        files.push(server);
    }
    Ok((DemoPki { ca_file }, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_private_and_a_reloaded_ca_still_signs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (pki, files) = prepare(dir.path(), &["provider"]).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files[0].key), 0o600);
        assert_eq!(mode(&dir.path().join("tls/ca-key.pem")), 0o600);
        let ca = std::fs::read_to_string(&pki.ca_file).unwrap();
        // A second start reuses the CA and issues only what is missing.
        std::fs::remove_file(&files[0].cert).unwrap();
        let (again, _) = prepare(dir.path(), &["provider"]).unwrap();
        assert_eq!(std::fs::read_to_string(&again.ca_file).unwrap(), ca);
        assert!(files[0].cert.exists());
    }
}
