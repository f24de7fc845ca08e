//! Who an object is addressed to: the one rule that decides which VEN a target reaches.
//!
//! A target `(type, value)` addresses a VEN when it is `VEN_NAME` = the VEN's name,
//! `RESOURCE_NAME` = the name of one of the VEN's resources that business logic created or
//! approved, or equal (type and value) to one of the VEN's own targets (which only business logic
//! writes, or the server derives from Energy Coordination meters). Nothing a VEN client writes
//! itself can make a target address it.
//!
//! The store evaluates the same rule in SQL for lists (`store::sql`); notifications and the
//! Voltus bridge evaluate it here, on a [`VenAudience`] loaded once.

/// `(type, value)` pairs of an object's targets, flattened so they can be indexed.
pub type TargetPairs = Vec<(String, String)>;

/// What decides whether targets address a VEN.
#[derive(Debug, Clone, Default)]
pub struct VenAudience {
    pub ven_id: String,
    pub ven_name: String,
    /// The VEN's own targets (written by business logic or derived by the server).
    pub targets: TargetPairs,
    /// Names of the VEN's resources that business logic created or approved.
    pub resource_names: Vec<String>,
}

impl VenAudience {
    /// A VEN not registered (yet): only `VEN_NAME` targets can address it.
    pub fn unregistered(ven_name: &str) -> Self {
        Self {
            ven_name: ven_name.to_owned(),
            ..Self::default()
        }
    }

    /// Whether one of `targets` addresses this VEN.
    pub fn is_addressed_by(&self, targets: &TargetPairs) -> bool {
        targets.iter().any(|(kind, value)| {
            (kind == "VEN_NAME" && *value == self.ven_name)
                || (kind == "RESOURCE_NAME" && self.resource_names.contains(value))
                || self.targets.iter().any(|(k, v)| k == kind && v == value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ven() -> VenAudience {
        VenAudience {
            ven_id: "v1".into(),
            ven_name: "ven-1".into(),
            targets: vec![("GROUP".into(), "north".into())],
            resource_names: vec!["meter-7".into()],
        }
    }

    fn pairs(list: &[(&str, &str)]) -> TargetPairs {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_target_addresses_the_ven_by_name_resource_or_its_own_targets() {
        let ven = ven();
        assert!(ven.is_addressed_by(&pairs(&[("VEN_NAME", "ven-1")])));
        assert!(ven.is_addressed_by(&pairs(&[("RESOURCE_NAME", "meter-7")])));
        assert!(ven.is_addressed_by(&pairs(&[("GROUP", "north")])));
        assert!(!ven.is_addressed_by(&pairs(&[("VEN_NAME", "ven-2")])));
        assert!(!ven.is_addressed_by(&pairs(&[("RESOURCE_NAME", "ven-1")])));
        assert!(!ven.is_addressed_by(&pairs(&[("GROUP", "south")])));
        assert!(!ven.is_addressed_by(&pairs(&[("REGION", "north")])));
        assert!(!ven.is_addressed_by(&pairs(&[])));
    }
}
