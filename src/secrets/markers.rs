//! The lines that begin key material: OpenSSH, PEM and age private keys.
//!
//! They are assembled from parts, so that no line of seibi's source looks like the start of a
//! private key to a secret scanner (seibi's own `secrets lint` included).

/// A PEM boundary line of a private key of `kind` (`edge`: `BEGIN` or `END`).
macro_rules! pem_line {
    ($edge:literal, $kind:literal) => {
        concat!("-----", $edge, " ", $kind, "PRIVATE", " KEY-----")
    };
}

/// First line of an OpenSSH private key file.
pub(crate) const OPENSSH_BEGIN: &str = pem_line!("BEGIN", "OPENSSH ");
/// Last line of an OpenSSH private key file.
pub(crate) const OPENSSH_END: &str = pem_line!("END", "OPENSSH ");
/// First line of a PKCS#1 RSA private key.
pub(crate) const RSA_BEGIN: &str = pem_line!("BEGIN", "RSA ");
/// First line of a SEC1 EC private key.
pub(crate) const EC_BEGIN: &str = pem_line!("BEGIN", "EC ");
/// First line of a PKCS#8 private key.
pub(crate) const PKCS8_BEGIN: &str = pem_line!("BEGIN", "");
/// How an age identity (an X25519 private key) starts.
pub(crate) const AGE_SECRET: &str = concat!("AGE-SECRET", "-KEY-1");
