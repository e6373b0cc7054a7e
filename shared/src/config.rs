//! Configuration: command-line flags, each with a `PAYMESH_*` environment variable, and an
//! optional TOML file (`--config FILE`) whose keys are the flag names.
//!
//! Precedence, strongest first: flag, environment variable, config file, built-in default.
//! The file is folded in *before* clap parses: its keys become flags placed ahead of the
//! real ones (a later flag overrides an earlier one), and keys whose environment variable
//! is set are left out so the variable wins.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Flags every participant takes (wire.md "Starting a participant").
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Address to listen on, e.g. 127.0.0.1:8402 (port 0 picks a free port).
    #[arg(long, env = "PAYMESH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the database, logs, generated passwords and the lock file.
    #[arg(long, env = "PAYMESH_DATA_DIR", default_value = "paymesh-data")]
    pub data_dir: PathBuf,
    /// The operator's (login `admin`) password; generated into DIR/admin-password when absent.
    #[arg(long, env = "PAYMESH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// The participant's display name, e.g. a provider's `Megafon`.
    #[arg(long, env = "PAYMESH_NAME")]
    pub name: Option<String>,
    /// Database URL; defaults to SQLite in the data directory.
    #[arg(long, env = "PAYMESH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A TOML file with any of these settings (keys are flag names).
    #[arg(long, env = "PAYMESH_CONFIG")]
    pub config: Option<PathBuf>,
    /// SQLite durability: `full` (the default: a commit survives a power cut) or `normal`
    /// (faster; the last commits may be lost on a power cut, never corrupted).
    #[arg(long, env = "PAYMESH_SQLITE_SYNCHRONOUS", value_enum, ignore_case = true, default_value_t = Synchronous::Full)]
    pub sqlite_synchronous: Synchronous,
    /// Also open the portal in a native window when a display exists.
    #[arg(long, env = "PAYMESH_WINDOW")]
    pub window: bool,
    /// Daily log files kept in DIR/logs; older ones are deleted at start and at each
    /// daily rollover.
    #[arg(long, env = "PAYMESH_MAX_LOG_FILES", default_value_t = crate::telemetry::DEFAULT_MAX_LOG_FILES,
          value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..=3650), usize::from))]
    pub max_log_files: usize,
    /// Serve HTTPS (only) with this PEM certificate chain, leaf first; needs --tls-key.
    #[arg(long, env = "PAYMESH_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "PAYMESH_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A PEM file of CA certificates that outbound HTTPS clients trust beside the
    /// system's roots (a private network's own CA).
    #[arg(long, env = "PAYMESH_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Connections served at once; more wait in the kernel's backlog.
    #[arg(long, env = "PAYMESH_MAX_CONNECTIONS", default_value_t = crate::serve::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// The longest wait, in milliseconds, for a TLS handshake and for a request's headers.
    #[arg(long, env = "PAYMESH_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// The longest a request may take once its headers are in (body and handler), in
    /// milliseconds; then it is answered 503 `request_timeout`.
    #[arg(long, env = "PAYMESH_REQUEST_TIMEOUT_MS", default_value_t = 90_000)]
    pub request_timeout_ms: u64,
    /// The participant's time zone (IANA name): the times its pages and the kiosk's
    /// receipts show, and where its report and registry days begin and end.
    #[arg(long, env = "PAYMESH_TIME_ZONE", default_value = crate::zone::DEFAULT_ZONE)]
    pub time_zone: crate::zone::Zone,
}

/// SQLite's `synchronous`: when a `COMMIT` counts as done.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synchronous {
    /// A commit survives a power cut: every `COMMIT` fsyncs the WAL.
    Full,
    /// Faster: a power cut may take back the last commits, never corrupt the file.
    Normal,
}

impl Synchronous {
    /// As the flag spells it; SQLite's PRAGMA takes the same word.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Full => "full",
            Synchronous::Normal => "normal",
        }
    }
}

/// What clap would fill in with no flags at all (the tests build settings this way).
impl Default for CommonArgs {
    fn default() -> Self {
        let limits = crate::serve::ServeLimits::default();
        CommonArgs {
            listen: None,
            data_dir: PathBuf::from("paymesh-data"),
            admin_password: None,
            name: None,
            database_url: None,
            config: None,
            sqlite_synchronous: Synchronous::Full,
            window: false,
            tls_cert: None,
            tls_key: None,
            ca_file: None,
            max_connections: limits.max_connections,
            header_read_timeout_ms: duration_ms(limits.header_read_timeout),
            request_timeout_ms: duration_ms(limits.request_timeout),
            max_log_files: crate::telemetry::DEFAULT_MAX_LOG_FILES,
            time_zone: crate::zone::Zone::default(),
        }
    }
}

fn duration_ms(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl CommonArgs {
    /// The listener's limits from `--max-connections`, `--header-read-timeout-ms` and
    /// `--request-timeout-ms` (a zero is taken as the smallest sane value, not "none").
    pub fn serve_limits(&self) -> crate::serve::ServeLimits {
        crate::serve::ServeLimits {
            max_connections: self.max_connections.max(1),
            header_read_timeout: std::time::Duration::from_millis(
                self.header_read_timeout_ms.max(100),
            ),
            request_timeout: std::time::Duration::from_millis(self.request_timeout_ms.max(100)),
        }
    }
}

/// Why the config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: key `{key}` must be a string, number or boolean")]
    Value { path: PathBuf, key: String },
}

/// The environment variable that belongs to a flag: `data-dir` → `PAYMESH_DATA_DIR`.
pub fn env_var_for(flag: &str) -> String {
    format!("PAYMESH_{}", flag.replace('-', "_").to_ascii_uppercase())
}

/// Where `--config` points, from the arguments or `PAYMESH_CONFIG`.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("PAYMESH_CONFIG").map(PathBuf::from)
}

/// Returns `args` with the config file's settings inserted after the first
/// `insert_at` arguments (program name and subcommand).
pub fn fold_in_config_file(
    args: Vec<OsString>,
    insert_at: usize,
) -> Result<Vec<OsString>, ConfigError> {
    let Some(path) = config_path(&args) else {
        return Ok(args);
    };
    let from_file = flags_from_file(&path)?;
    let at = insert_at.min(args.len());
    let mut merged = args[..at].to_vec();
    merged.extend(from_file);
    merged.extend_from_slice(&args[at..]);
    Ok(merged)
}

fn flags_from_file(path: &Path) -> Result<Vec<OsString>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut flags = Vec::new();
    for (key, value) in table {
        let flag = key.replace('_', "-");
        if flag == "config" || std::env::var_os(env_var_for(&flag)).is_some() {
            continue;
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(true) => {
                flags.push(OsString::from(format!("--{flag}")));
                continue;
            }
            toml::Value::Boolean(false) => continue,
            _ => {
                return Err(ConfigError::Value {
                    path: path.to_owned(),
                    key,
                });
            }
        };
        flags.push(OsString::from(format!("--{flag}={value}")));
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn file_settings_go_before_the_real_flags() {
        let dir = std::env::temp_dir().join(format!("paymesh-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("provider.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9\"\nname = \"Megafon\"\nwindow = true\nzz_unused_flag_for_test = 3\n")
            .unwrap();
        let args = os(&[
            "paymesh",
            "provider",
            "--config",
            file.to_str().unwrap(),
            "--name",
            "Tele2",
        ]);
        let merged = fold_in_config_file(args, 2).unwrap();
        let merged: Vec<String> = merged
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(&merged[..2], &["paymesh", "provider"]);
        assert!(merged.contains(&"--listen=127.0.0.1:9".to_owned()));
        assert!(merged.contains(&"--window".to_owned()));
        let file_name = merged.iter().position(|a| a == "--name=Megafon").unwrap();
        let flag_name = merged.iter().position(|a| a == "Tele2").unwrap();
        assert!(
            file_name < flag_name,
            "the command line must come last so it wins"
        );

        std::fs::write(&file, "listen = [1, 2]").unwrap();
        let err = fold_in_config_file(os(&["p", "r", "--config", file.to_str().unwrap()]), 2)
            .unwrap_err();
        assert!(matches!(err, ConfigError::Value { .. }));
        std::fs::write(&file, "listen = ").unwrap();
        assert!(matches!(
            fold_in_config_file(os(&["p", "r", "--config", file.to_str().unwrap()]), 2),
            Err(ConfigError::Parse { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[derive(clap::Parser)]
    struct Common {
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn sqlite_synchronous_is_one_of_its_two_words() {
        if std::env::var_os("PAYMESH_SQLITE_SYNCHRONOUS").is_some() {
            return;
        }
        let parse = |args: &[&str]| <Common as clap::Parser>::try_parse_from(args);
        let synchronous = |args: &[&str]| parse(args).map(|c| c.common.sqlite_synchronous);
        assert_eq!(synchronous(&["p"]).unwrap(), Synchronous::Full);
        assert_eq!(
            synchronous(&["p", "--sqlite-synchronous", "normal"]).unwrap(),
            Synchronous::Normal
        );
        // As SQLite's documentation spells it.
        assert_eq!(
            synchronous(&["p", "--sqlite-synchronous=NORMAL"]).unwrap(),
            Synchronous::Normal
        );
        for refused in ["off", "extra", "1", ""] {
            let error = synchronous(&["p", "--sqlite-synchronous", refused]).unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::InvalidValue,
                "{refused:?}: {error}"
            );
        }
    }

    #[test]
    fn no_config_no_change() {
        if std::env::var_os("PAYMESH_CONFIG").is_none() {
            let args = os(&["paymesh", "agent", "--listen", "127.0.0.1:0"]);
            assert_eq!(fold_in_config_file(args.clone(), 2).unwrap(), args);
        }
    }
}
