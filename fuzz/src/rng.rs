//! [`ReplayRng`]: "randomness" that replays given bytes, for fuzz bodies and tests that must
//! know (or let the fuzzer choose) what a draw gives.

/// Replays `bytes` in a cycle (`[1, 2, 3, 4, 5, 6]` draws the passcode "123456"; `[255; 6]`
/// never gives a digit); no bytes replay as zeros. Marked `CryptoRng` only because the crate's
/// API takes nothing less: it is obviously not one, and only ever used in tests and fuzzing.
pub struct ReplayRng<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> ReplayRng<'a> {
    /// Replays `bytes` from the first.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }
}

impl rand_core::RngCore for ReplayRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for d in dst {
            *d = self
                .bytes
                .get(self.at % self.bytes.len().max(1))
                .copied()
                .unwrap_or(0);
            self.at = self.at.wrapping_add(1);
        }
    }
}

impl rand_core::CryptoRng for ReplayRng<'_> {}
