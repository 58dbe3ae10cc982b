//! The signing half of access tokens: an Ed25519 key with a key id, that issues EdDSA JWTs
//! and publishes its public half as a JWK. The user service owns the real keys; tests use the
//! same type to stand up a JWKS peer.

use super::Claims;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
        PublicKeyUse,
    },
};

/// An Ed25519 signing key with its key id.
pub struct Signer {
    kid: String,
    key: SigningKey,
    encoding: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// A fresh random key.
    pub fn generate(kid: impl Into<String>) -> Self {
        Self::from_secret(kid, &SigningKey::generate(&mut rand::rngs::OsRng).to_bytes())
    }

    /// A key from its 32-byte secret (as stored by the user service).
    pub fn from_secret(kid: impl Into<String>, secret: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(secret);
        let der = key.to_pkcs8_der().expect("an Ed25519 key always encodes as PKCS#8");
        Self { kid: kid.into(), encoding: EncodingKey::from_ed_der(der.as_bytes()), key }
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The 32-byte secret, for storage.
    pub fn secret(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Sign `claims` as an EdDSA JWT.
    pub fn issue(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("Ed25519 signing cannot fail")
    }

    /// The public half as a JWK.
    pub fn jwk(&self) -> Jwk {
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
            }),
        }
    }
}

/// A JWKS document from several signers (current key first, then keys still accepted).
pub fn jwks<'a>(signers: impl IntoIterator<Item = &'a Signer>) -> JwkSet {
    JwkSet { keys: signers.into_iter().map(Signer::jwk).collect() }
}
