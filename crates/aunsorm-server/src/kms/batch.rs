//! `POST /v1/kms/batch`: many operations in one request. Each is authorized and run on
//! its own, with the same code as its single route; one failing does not stop the
//! others. Their audit entries go to the log together, and the answer waits until all
//! are durable (one group commit rather than one per operation).

use super::{blocking, caller, ops};
use crate::auth::Bearer;
use crate::json::Json;
use crate::{ApiError, AppState, request_id};
use aunsorm_api::ErrorDetail;
use aunsorm_api::kms::{self as api, BatchOp, BatchOut, BatchResult};
use aunsorm_kms::{Kms, deferred};
use axum::extract::State;

/// The most operations one batch may hold.
pub(crate) const MAX_BATCH: usize = 1000;

fn one(k: &Kms, b: &Bearer, op: &BatchOp) -> Result<BatchOut, ApiError> {
    Ok(match op {
        BatchOp::Sign(r) => BatchOut::Versioned(ops::sign_op(k, b, r)?),
        BatchOp::Verify(r) => BatchOut::Verified(ops::verify_op(k, b, r)?),
        BatchOp::Encrypt(r) => BatchOut::Versioned(ops::encrypt_op(k, b, r)?),
        BatchOp::Decrypt(r) => BatchOut::Secret(ops::decrypt_op(k, b, r)?),
        BatchOp::Rewrap(r) => BatchOut::Versioned(ops::rewrap_op(k, b, r)?),
        BatchOp::Datakey(r) => BatchOut::Datakey(ops::datakey_op(k, b, r)?),
        BatchOp::Hmac(r) => BatchOut::Versioned(ops::hmac_op(k, b, r)?),
        BatchOp::HmacVerify(r) => BatchOut::Verified(ops::hmac_verify_op(k, b, r)?),
        BatchOp::Encap(r) => BatchOut::Encapsulated(ops::encap_op(k, b, r)?),
        BatchOp::Decap(r) => BatchOut::Secret(ops::decap_op(k, b, r)?),
        BatchOp::Wrap(r) => BatchOut::Versioned(ops::wrap_op(k, b, r)?),
        BatchOp::Unwrap(r) => BatchOut::Secret(ops::unwrap_op(k, b, r)?),
    })
}

/// Run many operations in one request.
#[utoipa::path(post, path = "/v1/kms/batch", tag = "kms", request_body = api::Batch,
    responses((status = 200, body = api::BatchResults), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn batch(
    State(s): State<AppState>,
    b: Bearer,
    Json(req): Json<api::Batch>,
) -> Result<Json<api::BatchResults>, ApiError> {
    if req.ops.len() > MAX_BATCH {
        return Err(ApiError::invalid(format!(
            "a batch holds at most {MAX_BATCH} operations"
        )));
    }
    request_id::note_caller(b.id(), "");
    let c = caller(&b);
    let request = request_id::current();
    let kms = s.kms.clone();
    // A batch may hold a thousand post-quantum signatures: it runs on the blocking pool,
    // all on one thread (the deferred audit entries are collected per thread).
    let audited = blocking(move || {
        deferred(c, || {
            Ok(req
                .ops
                .iter()
                .map(|op| match one(&kms, &b, op) {
                    Ok(out) => BatchResult {
                        ok: Some(out),
                        error: None,
                    },
                    Err(e) => BatchResult {
                        ok: None,
                        error: Some(ErrorDetail {
                            code: e.code.to_owned(),
                            message: e.message,
                            request_id: request.clone(),
                        }),
                    },
                })
                .collect())
        })
    })
    .await?;
    Ok(Json(api::BatchResults {
        results: audited.await?,
    }))
}
