//! `plain-env`: the plaintext is in an environment variable. The zero-cost baseline: a fetch
//! is a copy of bytes the process already has.

use crate::error::InitError;
use crate::secret::Secret;
use crate::settings::Env;

/// The plaintext, read from the environment at INIT (as Lambda's runtime has it).
#[derive(Debug)]
pub struct PlainEnv {
    value: Secret,
}

impl PlainEnv {
    /// Reads `var` from the environment.
    pub fn new(env: &Env, var: &'static str) -> Result<PlainEnv, InitError> {
        let value = env.get(var).ok_or(InitError::Missing {
            var,
            why: "plain-env reads the secret from it",
        })?;
        Ok(PlainEnv {
            value: Secret::new(value.as_bytes().to_vec()),
        })
    }

    /// The value.
    pub fn fetch(&self) -> Secret {
        self.value.clone()
    }
}
