//! Compact hash multimap from 64-bit keys to item numbers.
//!
//! Why not `HashMap<String, Vec<u32>>`: with ~1.3M documents and four reference keys each, owned string keys and a
//! `Vec` per entry cost hundreds of MB and seconds to build. Keys here are 64-bit hashes of the normalised
//! strings (callers verify hits against the document itself, so a hash collision can never produce a match) and
//! the common single-value case is stored inline.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Final mixer of MurmurHash3: spreads every input bit over the whole word, so the pre-mixed keys can be used
/// with a pass-through hasher.
pub fn mix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// Hashes a byte string under a domain tag (so the same text under different key kinds gives different keys).
pub fn hash_bytes(tag: u8, bytes: &[u8]) -> u64 {
    // FNV-1a: simple and fast for the short keys we have; mix64 repairs its weak high bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(tag);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// Pass-through hasher for keys that are already well mixed.
#[derive(Default, Clone, Copy)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u64 keys; fold them so the hasher stays correct if ever misused.
        for &b in bytes {
            self.0 = mix64(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// FNV-1a hasher for short string keys (IBANs, names): much cheaper than SipHash, and the keys come from our own
/// master data, so hash-flooding resistance buys nothing here.
#[derive(Clone, Copy)]
pub struct FastStr(u64);

impl Default for FastStr {
    fn default() -> Self {
        FastStr(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FastStr {
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// `BuildHasher` for [`FastStr`].
pub type FastStrBuild = BuildHasherDefault<FastStr>;

/// `BuildHasher` for [`PreHashed`].
pub type PreHashedBuild = BuildHasherDefault<PreHashed>;

const SPILL: u32 = 1 << 31;

/// Multimap `u64 -> [u32]`. Values below 2^31 are stored inline; a key with several values points into a spill
/// vector. Values must be < 2^31.
#[derive(Default, Debug, Clone)]
pub struct MultiMap {
    map: HashMap<u64, u32, PreHashedBuild>,
    spill: Vec<Vec<u32>>,
    free: Vec<u32>,
}

impl MultiMap {
    /// Empty map with room for `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        MultiMap {
            map: HashMap::with_capacity_and_hasher(n, PreHashedBuild::default()),
            spill: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Builds the map from all pairs at once. Much faster than repeated [`MultiMap::insert`] for millions of keys:
    /// the pairs are first sorted by the bucket the table will put them in, so the inserts walk the table memory
    /// sequentially instead of missing the cache (and the TLB) on every insert.
    pub fn from_pairs(mut pairs: Vec<(u64, u32)>) -> Self {
        // hashbrown's sizing rule: buckets = next power of two of capacity * 8 / 7; the home bucket is hash & mask.
        let buckets = (pairs.len().max(8) * 8 / 7).next_power_of_two() as u64;
        let mask = buckets - 1;
        pairs.sort_unstable_by_key(|&(k, v)| (k & mask, k, v));
        pairs.dedup();
        let mut m = MultiMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            m.insert(k, v);
        }
        m
    }

    /// Adds `value` under `key` (duplicates of the same pair are ignored).
    pub fn insert(&mut self, key: u64, value: u32) {
        debug_assert!(value < SPILL);
        match self.map.get_mut(&key) {
            None => {
                self.map.insert(key, value);
            }
            Some(slot) if *slot & SPILL != 0 => {
                let list = &mut self.spill[(*slot & !SPILL) as usize];
                if !list.contains(&value) {
                    list.push(value);
                }
            }
            Some(slot) => {
                if *slot == value {
                    return;
                }
                let list = vec![*slot, value];
                let idx = match self.free.pop() {
                    Some(i) => {
                        self.spill[i as usize] = list;
                        i
                    }
                    None => {
                        self.spill.push(list);
                        (self.spill.len() - 1) as u32
                    }
                };
                *slot = idx | SPILL;
            }
        }
    }

    /// Removes one `value` under `key`, if present.
    pub fn remove(&mut self, key: u64, value: u32) {
        let Some(slot) = self.map.get_mut(&key) else { return };
        if *slot & SPILL == 0 {
            if *slot == value {
                self.map.remove(&key);
            }
            return;
        }
        let idx = (*slot & !SPILL) as usize;
        let list = &mut self.spill[idx];
        list.retain(|&v| v != value);
        if list.len() == 1 {
            *slot = list[0];
            self.spill[idx] = Vec::new();
            self.free.push(idx as u32);
        }
    }

    /// All values under `key` (empty slice if none).
    pub fn get(&self, key: u64) -> &[u32] {
        match self.map.get(&key) {
            None => &[],
            Some(slot) if *slot & SPILL != 0 => &self.spill[(*slot & !SPILL) as usize],
            Some(slot) => std::slice::from_ref(slot),
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_spilled_values() {
        let mut m = MultiMap::default();
        m.insert(1, 10);
        assert_eq!(m.get(1), &[10]);
        m.insert(1, 11);
        m.insert(1, 11);
        assert_eq!(m.get(1), &[10, 11]);
        m.remove(1, 10);
        assert_eq!(m.get(1), &[11]);
        m.insert(1, 12);
        assert_eq!(m.get(1), &[11, 12]);
        m.remove(1, 11);
        m.remove(1, 12);
        assert!(m.get(1).is_empty());
        assert!(m.get(2).is_empty());
    }
}
