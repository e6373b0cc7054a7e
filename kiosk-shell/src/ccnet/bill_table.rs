//! The denomination map, built from the device's GET BILL TABLE answer (ccnet.md §1.6):
//! 24 words of `[digit][country ×3][scale]`; scale bit7 clear = that many trailing zeros,
//! set = a decimal point that many places from the right.

use shared::money::Kopecks;

/// Bill types a validator has.
pub const BILL_TYPES: usize = 24;

/// One bill type's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denomination {
    pub bill_type: u8,
    /// Country code as the device gives it ("RUS", not ISO "RUB").
    pub country: String,
    pub value: Kopecks,
}

/// The denominations of a device, by bill type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillTable {
    entries: Vec<Denomination>,
}

impl BillTable {
    /// Decodes the 120-byte answer. Unused words (all zeros) and words that are not money
    /// (a zero digit) are skipped.
    pub fn parse(data: &[u8]) -> Option<BillTable> {
        if data.len() < BILL_TYPES * 5 {
            return None;
        }
        let mut entries = Vec::new();
        for (bill_type, word) in data.chunks_exact(5).take(BILL_TYPES).enumerate() {
            let digit = i64::from(word[0]);
            if digit == 0 {
                continue;
            }
            let country: String = word[1..4].iter().map(|&b| char::from(b)).collect();
            let scale = word[4];
            // Kopecks: roubles × 100, i.e. two more zeros, or two fewer decimals.
            let value = if scale & 0x80 == 0 {
                10i64
                    .checked_pow(u32::from(scale) + 2)
                    .and_then(|p| digit.checked_mul(p))
            } else {
                let decimals = u32::from(scale & 0x7F);
                match decimals {
                    0 => digit.checked_mul(100),
                    1 => digit.checked_mul(10),
                    2 => Some(digit),
                    _ => None, // fractions of a kopeck: not money we can take
                }
            };
            if let Some(value) = value {
                entries.push(Denomination {
                    bill_type: bill_type as u8,
                    country,
                    value: Kopecks::new(value),
                });
            }
        }
        Some(BillTable { entries })
    }

    /// Encodes the table as a device answers it (the simulator's side).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut data = vec![0u8; BILL_TYPES * 5];
        for d in &self.entries {
            let rubles = d.value.get() / 100;
            let mut zeros = 0u8;
            let mut digit = rubles;
            while digit >= 10 && digit % 10 == 0 {
                digit /= 10;
                zeros += 1;
            }
            let at = usize::from(d.bill_type) * 5;
            data[at] = digit as u8;
            for (i, b) in d.country.bytes().take(3).enumerate() {
                data[at + 1 + i] = b;
            }
            data[at + 4] = zeros;
        }
        data
    }

    /// The Russian table of the SM-RU1353 firmware (ccnet.md §1.6): types 2..7 are
    /// 10, 50, 100, 500, 1000, 5000 roubles.
    pub fn russian() -> BillTable {
        BillTable::from_rubles(&[(2, 10), (3, 50), (4, 100), (5, 500), (6, 1000), (7, 5000)])
    }

    /// Builds a table from (type, roubles) pairs.
    pub fn from_rubles(pairs: &[(u8, i64)]) -> BillTable {
        BillTable {
            entries: pairs
                .iter()
                .map(|&(bill_type, rubles)| Denomination {
                    bill_type,
                    country: "RUS".into(),
                    value: Kopecks::new(rubles * 100),
                })
                .collect(),
        }
    }

    pub fn get(&self, bill_type: u8) -> Option<&Denomination> {
        self.entries.iter().find(|d| d.bill_type == bill_type)
    }

    /// The bill type worth exactly `value`, if the device has one.
    pub fn type_of(&self, value: Kopecks) -> Option<u8> {
        self.entries
            .iter()
            .find(|d| d.value == value)
            .map(|d| d.bill_type)
    }

    pub fn entries(&self) -> &[Denomination] {
        &self.entries
    }

    /// The 24-bit big-endian mask (Y1 bit7 = type 23 … Y3 bit0 = type 0) of the roubles
    /// bills not above `limit`.
    pub fn mask_up_to(&self, limit: Kopecks) -> [u8; 3] {
        let mut mask = 0u32;
        for d in &self.entries {
            if d.country == "RUS" && d.value <= limit && d.bill_type < 24 {
                mask |= 1 << d.bill_type;
            }
        }
        let bytes = mask.to_be_bytes();
        [bytes[1], bytes[2], bytes[3]]
    }
}

/// The bill types a 3-byte mask enables.
pub fn mask_types(mask: [u8; 3]) -> impl Iterator<Item = u8> {
    let bits = u32::from_be_bytes([0, mask[0], mask[1], mask[2]]);
    (0..24u8).filter(move |t| bits & (1 << t) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 120 bytes from ccnet.md §1.6, as the SM-RU1353 firmware answers.
    fn spec_table() -> Vec<u8> {
        let mut data = vec![0u8; 120];
        let words: &[(usize, [u8; 5])] = &[
            (2, [0x01, b'R', b'U', b'S', 0x01]),
            (3, [0x05, b'R', b'U', b'S', 0x01]),
            (4, [0x01, b'R', b'U', b'S', 0x02]),
            (5, [0x05, b'R', b'U', b'S', 0x02]),
            (6, [0x01, b'R', b'U', b'S', 0x03]),
            (7, [0x05, b'R', b'U', b'S', 0x03]),
            (8, [0x01, b'R', b'U', b'S', 0x00]),
            (23, [0x01, b'B', b'A', b'R', 0x00]),
        ];
        for (t, w) in words {
            data[t * 5..t * 5 + 5].copy_from_slice(w);
        }
        data
    }

    #[test]
    fn decodes_the_spec_table() {
        let table = BillTable::parse(&spec_table()).unwrap();
        let value = |t| table.get(t).map(|d| d.value.get());
        assert_eq!(value(2), Some(1_000));
        assert_eq!(value(5), Some(50_000));
        assert_eq!(value(7), Some(500_000));
        assert_eq!(value(8), Some(100));
        assert_eq!(table.get(23).unwrap().country, "BAR");
        assert_eq!(value(0), None);
        // The coupon is not money: it never enters the mask.
        assert_eq!(table.mask_up_to(Kopecks::new(10_000)), [0x00, 0x01, 0x1C]);
    }

    #[test]
    fn decimal_point_scale() {
        let mut data = vec![0u8; 120];
        data[..5].copy_from_slice(&[5, b'R', b'U', b'S', 0x81]); // 0.5 RUB
        let table = BillTable::parse(&data).unwrap();
        assert_eq!(table.get(0).unwrap().value, Kopecks::new(50));
    }

    #[test]
    fn russian_table_round_trips() {
        let table = BillTable::russian();
        assert_eq!(BillTable::parse(&table.to_bytes()).unwrap(), table);
        assert_eq!(table.type_of(Kopecks::new(50_000)), Some(5));
    }

    #[test]
    fn mask_is_big_endian() {
        let table = BillTable::from_rubles(&[(0, 10), (9, 50), (23, 100)]);
        assert_eq!(table.mask_up_to(Kopecks::new(10_000)), [0x80, 0x02, 0x01]);
        assert_eq!(
            mask_types([0x80, 0x02, 0x01]).collect::<Vec<_>>(),
            [0, 9, 23]
        );
    }
}
