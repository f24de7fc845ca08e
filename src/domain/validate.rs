//! Semantic checks that serde's types cannot express (lengths, ranges, cross-field rules).
//!
//! Every violation carries the JSON path of the field, so a 400 tells the client exactly what to fix.

/// Collects violations under a path prefix such as `intervals[2].payloads[0]`.
#[derive(Debug, Default)]
pub struct Violations {
    prefix: Vec<String>,
    found: Vec<String>,
}

pub trait Validate {
    fn validate(&self, v: &mut Violations);
}

impl Violations {
    pub fn check<T: Validate + ?Sized>(value: &T) -> Result<(), String> {
        let mut v = Self::default();
        value.validate(&mut v);
        if v.found.is_empty() {
            Ok(())
        } else {
            Err(v.found.join("; "))
        }
    }

    fn path(&self, field: &str) -> String {
        let mut path = self.prefix.join(".");
        if !field.is_empty() {
            if !path.is_empty() && !field.starts_with('[') {
                path.push('.');
            }
            path.push_str(field);
        }
        path
    }

    pub fn add(&mut self, field: impl AsRef<str>, message: impl AsRef<str>) {
        let entry = format!("{}: {}", self.path(field.as_ref()), message.as_ref());
        self.found.push(entry);
    }

    /// Runs `f` with `field` appended to the path.
    pub fn nested(&mut self, field: impl Into<String>, f: impl FnOnce(&mut Self)) {
        self.prefix.push(field.into());
        f(self);
        self.prefix.pop();
    }

    pub fn field<T: Validate>(&mut self, field: &str, value: &T) {
        self.nested(field, |v| value.validate(v));
    }

    pub fn each<T: Validate>(&mut self, field: &str, items: &[T]) {
        for (i, item) in items.iter().enumerate() {
            self.nested(format!("{field}[{i}]"), |v| item.validate(v));
        }
    }

    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let len = value.chars().count();
        if len < min || len > max {
            self.add(
                field,
                format!("length must be between {min} and {max} characters, got {len}"),
            );
        }
    }

    pub fn optional_length(&mut self, field: &str, value: &Option<String>, max: usize) {
        if let Some(value) = value {
            self.length(field, value, 0, max);
        }
    }
}
