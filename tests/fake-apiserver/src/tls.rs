//! HTTPS with a throw-away certificate authority, for `--tls`.
//!
//! kubectl (client-go) never sends credentials over plain HTTP, so an instance with a token
//! needs TLS for kubectl to authenticate at all. Each start makes a new CA and a server
//! certificate for `127.0.0.1`, `::1` and `localhost`; the kubeconfig carries the CA as
//! `certificate-authority-data`, so kubectl and kube-rs verify the server like a real one.

use std::sync::Arc;

use anyhow::Context as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The server side of TLS and the CA clients must trust.
pub struct Tls {
    /// PEM of the CA certificate (goes into the kubeconfig).
    pub ca_pem: String,
    /// rustls configuration serving the server certificate (HTTP/1.1).
    pub server_config: Arc<rustls::ServerConfig>,
}

/// Makes a CA and a server certificate signed by it.
pub fn self_signed() -> anyhow::Result<Tls> {
    let ca_key = KeyPair::generate().context("cannot generate the CA key")?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake-apiserver CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().context("cannot generate the server key")?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "fake-apiserver");
    let cert = params.signed_by(&key, &issuer)?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(server_config),
    })
}
