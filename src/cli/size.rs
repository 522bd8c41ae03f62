//! Byte sizes and rates as people type them: `1048576`, `2MiB`, `5M`, `1.5 GB`.

use std::str::FromStr;

/// A number of bytes. `KiB`/`MiB`/`GiB` and the short `K`/`M`/`G` are powers of 1024;
/// `KB`/`MB`/`GB` are powers of 1000; a bare number is bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl FromStr for Bytes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a size: write e.g. 1048576, 2MiB or 5M"))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            u => {
                return Err(format!(
                    "unknown unit {u:?} in {s:?}: use B, KiB, MiB, GiB (or K, M, G), KB, MB, GB"
                ))
            }
        };
        let v = n * mult as f64;
        if !(0.0..=u64::MAX as f64).contains(&v) || v.fract() != 0.0 {
            return Err(format!("{s:?} is not a whole number of bytes"));
        }
        Ok(Bytes(v as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_people_type_them() {
        for (s, n) in [
            ("1048576", 1 << 20),
            ("2MiB", 2 << 20),
            ("5M", 5 << 20),
            ("1.5 GB", 1_500_000_000),
            ("64k", 65536),
            ("300KB", 300_000),
        ] {
            assert_eq!(s.parse::<Bytes>().unwrap(), Bytes(n), "{s}");
        }
        for bad in ["", "MiB", "2 parsecs", "-1", "0.5"] {
            assert!(bad.parse::<Bytes>().is_err(), "{bad}");
        }
    }
}
