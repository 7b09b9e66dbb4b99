//! Request allowances: per client network (sign-in, the API's front
//! door) and per API token.

use std::num::NonZeroU32;

/// A per-address request limit: a steady rate and the burst allowed on top
/// of it before requests are refused (a GCRA: the allowance refills at the
/// rate, up to the burst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

/// The JSON API's allowance per token: `per_second` calls a second, up to
/// `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl ApiRate {
    /// SPEC §8's default: 10 a second, bursts of 50.
    pub const DEFAULT: ApiRate = ApiRate {
        per_second: NonZeroU32::new(10).expect("non-zero"),
        burst: NonZeroU32::new(50).expect("non-zero"),
    };

    /// An allowance no benchmark client reaches: a million a second, with
    /// the longest burst (see [`RateQuota::UNLIMITED`] for why).
    pub const UNLIMITED: ApiRate = ApiRate {
        per_second: NonZeroU32::new(1_000_000).expect("non-zero"),
        burst: NonZeroU32::MAX,
    };
}

impl RateQuota {
    /// The sign-in forms' default: 30 a minute with bursts of 10.
    pub const SIGN_IN: RateQuota = RateQuota {
        per_minute: NonZeroU32::new(30).expect("non-zero"),
        burst: NonZeroU32::new(10).expect("non-zero"),
    };

    /// The API's per-address default: 1,200 a minute with bursts of 200
    /// (well above one token's 10 a second, so only floods meet it).
    pub const API_ADDRESS: RateQuota = RateQuota {
        per_minute: NonZeroU32::new(1200).expect("non-zero"),
        burst: NonZeroU32::new(200).expect("non-zero"),
    };

    /// A quota no test or person reaches, for tests and benchmarks of what
    /// lies behind it. The burst is the whole minute's allowance: a
    /// request is checked with the time its thread read before it got the
    /// allowance, and on a loaded machine others may have moved the
    /// allowance on by then. A limiter tolerates that lag up to the time
    /// its burst takes to earn (here 60 s): with a burst of a million it
    /// was 14 ms, and `bench web`'s decisions at 32 connections met a 429.
    pub const UNLIMITED: RateQuota = RateQuota {
        per_minute: NonZeroU32::MAX,
        burst: NonZeroU32::MAX,
    };
}
