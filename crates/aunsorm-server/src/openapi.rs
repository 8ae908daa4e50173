//! The OpenAPI document, generated from the handlers and the DTOs of `aunsorm-api`.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Aunsorm", description = "Post-quantum-ready key management"),
    paths(
        crate::sys::health, crate::sys::init, crate::sys::unseal, crate::sys::seal,
        crate::ids::random_bytes, crate::ids::ids,
        crate::log::checkpoint, crate::log::tile, crate::log::inclusion, crate::log::consistency,
        crate::tokens::create_token, crate::tokens::revoke_token,
        crate::kms::create_key, crate::kms::list_keys, crate::kms::show_key,
        crate::kms::delete_key, crate::kms::rotate_key, crate::kms::configure_key,
        crate::kms::sign, crate::kms::verify, crate::kms::encrypt, crate::kms::decrypt,
        crate::kms::rewrap, crate::kms::datakey, crate::kms::hmac, crate::kms::hmac_verify,
        crate::kms::encap, crate::kms::decap, crate::kms::wrap, crate::kms::unwrap,
    ),
    tags((name = "kms", description = "keys and operations"), (name = "sys", description = "server state"), (name = "auth", description = "capability tokens"), (name = "log", description = "the transparency log"))
)]
struct Doc;

/// The OpenAPI 3.1 document served at `/v1/openapi.json`.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
