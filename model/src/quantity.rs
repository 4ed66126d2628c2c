//! Kubernetes resource quantities (`100m`, `1.5`, `128Mi`, `1e3`) in base units.
//!
//! Computed in integer nano-units, rounded up as Kubernetes does (`MilliValue`, `Value`).

/// The string is not a Kubernetes quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a quantity (e.g. 500m, 2, 128Mi, 1G)")]
pub struct BadQuantity(pub String);

const NANO: i128 = 1_000_000_000;

/// Parses a quantity into nano-units.
fn nanos(input: &str) -> Result<i128, BadQuantity> {
    let bad = || BadQuantity(input.to_owned());
    let s = input.trim();
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let (negative, digits) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 20
    {
        return Err(bad());
    }
    // Value in nano-units before the suffix; fraction digits past nine round up.
    let mut value: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    value *= NANO;
    let mut scale = NANO / 10;
    let mut rest_nonzero = false;
    for digit in fraction.bytes().map(|b| i128::from(b - b'0')) {
        if scale > 0 {
            value += digit * scale;
            scale /= 10;
        } else if digit > 0 {
            rest_nonzero = true;
        }
    }
    if rest_nonzero {
        value += 1;
    }
    let (multiplier, divisor): (i128, i128) = match suffix {
        "" => (1, 1),
        "n" => (1, NANO),
        "u" => (1, 1_000_000),
        "m" => (1, 1_000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        exp if exp.starts_with(['e', 'E']) => {
            let power: u32 = exp[1..].parse().map_err(|_| bad())?;
            if power > 18 {
                return Err(bad());
            }
            (10_i128.pow(power), 1)
        }
        _ => return Err(bad()),
    };
    let scaled = value.checked_mul(multiplier).ok_or_else(bad)?;
    let result = (scaled + divisor - 1) / divisor;
    Ok(if negative { -result } else { result })
}

/// CPU in millicores, rounded up: `100m` → 100, `1.5` → 1500, `2` → 2000.
///
/// # Errors
/// [`BadQuantity`] for anything Kubernetes would not accept, or a negative value.
pub fn cpu_millis(quantity: &str) -> Result<u64, BadQuantity> {
    let n = nanos(quantity)?;
    let millis = (n + 999_999).div_euclid(1_000_000);
    u64::try_from(millis).map_err(|_| BadQuantity(quantity.to_owned()))
}

/// Bytes (or any plain count), rounded up: `128Mi` → 134217728, `1G` → 10⁹, `100m` → 1.
///
/// # Errors
/// [`BadQuantity`] for anything Kubernetes would not accept, or a negative value.
pub fn value(quantity: &str) -> Result<u64, BadQuantity> {
    let n = nanos(quantity)?;
    let units = (n + NANO - 1).div_euclid(NANO);
    u64::try_from(units).map_err(|_| BadQuantity(quantity.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_in_millicores() {
        assert_eq!(cpu_millis("100m"), Ok(100));
        assert_eq!(cpu_millis("1.5"), Ok(1500));
        assert_eq!(cpu_millis("2"), Ok(2000));
        assert_eq!(cpu_millis("0.0001"), Ok(1), "rounds up like MilliValue");
        assert_eq!(cpu_millis("250000n"), Ok(1));
        assert_eq!(cpu_millis("1e3"), Ok(1_000_000));
    }

    #[test]
    fn memory_in_bytes() {
        assert_eq!(value("128Mi"), Ok(128 << 20));
        assert_eq!(value("1Gi"), Ok(1 << 30));
        assert_eq!(value("1G"), Ok(1_000_000_000));
        assert_eq!(value("1.5Gi"), Ok(3 << 29));
        assert_eq!(value("500k"), Ok(500_000));
        assert_eq!(value("110"), Ok(110));
        assert_eq!(value("100m"), Ok(1), "rounds up like Value");
    }

    #[test]
    fn rejects_what_kubernetes_rejects() {
        for bad in ["", "abc", "1.2.3", "10Xi", "1e99", "-1", "1 Gi", ".", "m"] {
            assert!(value(bad).is_err(), "{bad} should be rejected");
        }
    }
}
