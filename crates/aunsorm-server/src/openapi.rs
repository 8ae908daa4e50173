//! The OpenAPI document, generated from the handlers and the DTOs of `aunsorm-api`.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Aunsorm", description = "Post-quantum-ready key management"),
    paths(
        crate::sys::health, crate::sys::init, crate::transit::sys::init_status,
        crate::sys::unseal, crate::sys::seal,
        crate::ids::random_bytes, crate::ids::ids,
        crate::log::checkpoint, crate::log::keys, crate::log::tile, crate::log::inclusion, crate::log::consistency,
        crate::tokens::create_token, crate::tokens::revoke_token,
        crate::kms::keys::create_key, crate::kms::keys::list_keys, crate::kms::keys::show_key,
        crate::kms::keys::delete_key, crate::kms::keys::rotate_key,
        crate::kms::keys::configure_key, crate::kms::keys::import_key,
        crate::kms::keys::export_key, crate::kms::keys::destroy_version,
        crate::kms::keys::attest_key, crate::kms::keys::wrapping_key,
        crate::kms::keys::attestation_key,
        crate::kms::ops::sign, crate::kms::ops::verify, crate::kms::ops::encrypt,
        crate::kms::ops::decrypt, crate::kms::ops::rewrap, crate::kms::ops::datakey,
        crate::kms::ops::hmac, crate::kms::ops::hmac_verify, crate::kms::ops::encap,
        crate::kms::ops::decap, crate::kms::ops::wrap, crate::kms::ops::unwrap,
        crate::kms::batch::batch,
    ),
    components(schemas(aunsorm_api::sys::IdKind, aunsorm_api::kms::WrappingAlg)),
    tags((name = "kms", description = "keys and operations"), (name = "sys", description = "server state"), (name = "auth", description = "capability tokens"), (name = "log", description = "the transparency log"))
)]
struct Doc;

/// The OpenAPI 3.1 document served at `/v1/openapi.json`.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
