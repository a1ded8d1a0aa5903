//! The operator registry: the 64 built-ins plus host callbacks.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::callback::CallbackFn;
use super::{builtin, builtin_names};
use crate::value::{Str, Value};

/// An error registering or unregistering a callback.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Operator names must start with `@`.
    #[error("operator name must start with @: {0:?}")]
    InvalidName(String),
    /// The registrant must be named.
    #[error("operator {0:?}: registrant must not be empty")]
    EmptyRegistrant(String),
    /// Built-in operators can be neither replaced nor removed.
    #[error("operator {0:?} is a built-in and cannot be replaced or removed")]
    Builtin(String),
    /// Another registrant holds the name.
    #[error("operator {name:?} is registered by {holder:?}")]
    HeldBy {
        /// The operator name.
        name: String,
        /// Its current holder.
        holder: String,
    },
    /// The name is not a registered callback.
    #[error("operator {0:?} is not registered")]
    NotRegistered(String),
}

/// The operators an expression may use: the built-ins (always) and host callbacks.
///
/// ```
/// use deltaloop_pipeline::{EvalContext, Expr, Registry, Value};
/// let mut reg = Registry::new();
/// reg.register_callback("@double", "my-app", |args: &[Value]| match args {
///     [Value::Int(i)] => Ok(Value::Int(i * 2)),
///     _ => Err("expected one int".to_owned()),
/// })?;
/// let e = Expr::compile_with(&serde_json::json!({"@double": [21]}), &reg)?;
/// assert_eq!(e.eval(&EvalContext::new())?, Value::Int(42));
/// assert!(reg.register_callback("@double", "other-app", |_: &[Value]| Ok(Value::Null)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    callbacks: BTreeMap<Str, (Str, CallbackFn)>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.callbacks.iter().map(|(k, (r, _))| (k, r)))
            .finish()
    }
}

static BUILTIN: Registry = Registry::new();

impl Registry {
    /// A registry with the built-in operators only.
    #[must_use]
    pub const fn new() -> Registry {
        Registry {
            callbacks: BTreeMap::new(),
        }
    }

    /// The shared registry of built-ins only, used by [`crate::Expr::compile`].
    #[must_use]
    pub fn builtin() -> &'static Registry {
        &BUILTIN
    }

    /// Whether `name` is a built-in operator.
    #[must_use]
    pub fn is_builtin(name: &str) -> bool {
        builtin(name).is_some()
    }

    /// All operator names: built-ins first, then callbacks.
    #[must_use]
    pub fn operator_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = builtin_names().collect();
        names.extend(self.callbacks.keys().map(|k| &**k));
        names
    }

    /// Registers (or, for its own holder, re-registers) a callback operator. Its arguments
    /// are evaluated and passed to `func`; any argument form is accepted.
    ///
    /// # Errors
    ///
    /// The name must start with `@`, the registrant must be non-empty, a built-in can't be
    /// replaced, and a name held by another registrant is an error.
    pub fn register_callback<F>(
        &mut self,
        name: &str,
        registrant: &str,
        func: F,
    ) -> Result<(), RegistryError>
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        if !name.starts_with('@') {
            return Err(RegistryError::InvalidName(name.to_owned()));
        }
        if registrant.is_empty() {
            return Err(RegistryError::EmptyRegistrant(name.to_owned()));
        }
        if Registry::is_builtin(name) {
            return Err(RegistryError::Builtin(name.to_owned()));
        }
        if let Some((holder, _)) = self.callbacks.get(name)
            && &**holder != registrant
        {
            return Err(RegistryError::HeldBy {
                name: name.to_owned(),
                holder: holder.to_string(),
            });
        }
        self.callbacks
            .insert(Arc::from(name), (Arc::from(registrant), Arc::new(func)));
        Ok(())
    }

    /// Removes a callback operator; only its holder may. Already compiled expressions
    /// keep working.
    ///
    /// # Errors
    ///
    /// Built-ins can't be removed, unknown names and other holders are errors.
    pub fn unregister_callback(
        &mut self,
        name: &str,
        registrant: &str,
    ) -> Result<(), RegistryError> {
        match self.callbacks.get(name) {
            None if Registry::is_builtin(name) => Err(RegistryError::Builtin(name.to_owned())),
            None => Err(RegistryError::NotRegistered(name.to_owned())),
            Some((holder, _)) if &**holder != registrant => Err(RegistryError::HeldBy {
                name: name.to_owned(),
                holder: holder.to_string(),
            }),
            Some(_) => {
                self.callbacks.remove(name);
                Ok(())
            }
        }
    }

    /// The registrant holding a callback name, if any.
    #[must_use]
    pub fn callback_registrant(&self, name: &str) -> Option<&str> {
        self.callbacks.get(name).map(|(r, _)| &**r)
    }

    pub(crate) fn callback(&self, name: &str) -> Option<CallbackFn> {
        self.callbacks.get(name).map(|(_, f)| f.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(_: &[Value]) -> Result<Value, String> {
        Ok(Value::Null)
    }

    #[test]
    fn registry_should_enforce_ownership_rules() {
        let mut r = Registry::new();
        assert_eq!(
            r.register_callback("@add", "a", noop),
            Err(RegistryError::Builtin("@add".into()))
        );
        assert!(r.register_callback("x", "a", noop).is_err());
        assert!(r.register_callback("@x", "", noop).is_err());
        r.register_callback("@x", "a", noop).unwrap();
        r.register_callback("@x", "a", noop).unwrap();
        assert!(matches!(
            r.register_callback("@x", "b", noop),
            Err(RegistryError::HeldBy { .. })
        ));
        assert!(r.unregister_callback("@x", "b").is_err());
        assert!(r.unregister_callback("@add", "a").is_err());
        assert_eq!(r.callback_registrant("@x"), Some("a"));
        r.unregister_callback("@x", "a").unwrap();
        assert!(r.unregister_callback("@x", "a").is_err());
        assert_eq!(Registry::builtin().operator_names().len(), 65);
    }
}
