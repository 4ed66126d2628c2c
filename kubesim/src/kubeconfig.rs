//! A kubeconfig for the simulated cluster, usable by `kubectl --kubeconfig` and by kube-rs.

use base64::Engine;

/// The kubeconfig YAML for a server URL, its CA (PEM) and a bearer token.
pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: kubesim\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         users:\n\
         - name: kubesim-admin\n  user:\n    token: {token}\n\
         contexts:\n\
         - name: kubesim\n  context:\n    cluster: kubesim\n    user: kubesim-admin\n    namespace: default\n\
         current-context: kubesim\n\
         preferences: {{}}\n"
    )
}

/// Writes the kubeconfig readable by its owner only (it holds a token).
///
/// # Errors
/// The I/O error of writing it.
pub fn write(
    path: &std::path::Path,
    server: &str,
    ca_pem: &str,
    token: &str,
) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(render(server, ca_pem, token).as_bytes())
}
