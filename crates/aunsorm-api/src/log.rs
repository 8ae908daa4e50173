//! The transparency log's proof routes, under `/v1/log` (its checkpoint, tiles and entry
//! bundles are served as tlog-tiles lays them out, as text and bytes).

use crate::Base64;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `GET /v1/log/proof/inclusion` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry's index.
    pub index: u64,
    /// The tree size to prove against (default: the latest checkpoint's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// `GET /v1/log/proof/consistency` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub old: u64,
    /// The newer tree size (default: the latest checkpoint's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<u64>,
}

/// A Merkle proof (RFC 9162): the hashes, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// For an inclusion proof, the entry index; for a consistency proof, the old size.
    pub from: u64,
    /// The tree size proved against.
    pub size: u64,
    /// The proof's hashes.
    pub hashes: Vec<Base64>,
}
