//! Error plumbing: every wgpu error (validation, out of memory, internal, shader compilation, device
//! lost) is caught through error scopes, the uncaptured-error handler and the device-lost callback,
//! and becomes an [`Error::Gpu`]; none panics.

use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

pub(super) fn gpu_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Gpu(format!("{what}: {e}"))
}

/// Errors reported outside error scopes, and device loss. They are kept: once the device is lost
/// or misbehaved, every later call fails the same way.
#[derive(Clone, Default)]
pub(super) struct ErrorLog(Arc<Mutex<Vec<String>>>);

impl ErrorLog {
    /// A log fed by `device`'s uncaptured-error handler and device-lost callback.
    pub(super) fn attach(device: &wgpu::Device) -> ErrorLog {
        let log = ErrorLog::default();
        let sink = log.0.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let sink = log.0.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut v) = sink.lock() {
                let msg = if msg.is_empty() { String::new() } else { format!(": {msg}") };
                v.push(format!("the GPU device was lost ({reason:?}){msg}"));
            }
        });
        log
    }

    /// An error if anything was logged.
    pub(super) fn check(&self) -> Result<()> {
        let msgs = match self.0.lock() {
            Ok(v) => v.clone(),
            Err(_) => vec!["the GPU error log is poisoned".into()],
        };
        if msgs.is_empty() {
            Ok(())
        } else {
            Err(Error::Gpu(format!(
                "{}; the GPU evaluator cannot continue; evaluate on the CPU instead",
                msgs.join("; ")
            )))
        }
    }
}

/// Error scopes for one step of work; `finish` turns whatever they caught into [`Error::Gpu`].
pub(super) struct Scopes {
    guards: Vec<wgpu::ErrorScopeGuard>,
}

impl Scopes {
    pub(super) fn push(device: &wgpu::Device) -> Scopes {
        Scopes {
            guards: [
                wgpu::ErrorFilter::OutOfMemory,
                wgpu::ErrorFilter::Validation,
                wgpu::ErrorFilter::Internal,
            ]
            .into_iter()
            .map(|f| device.push_error_scope(f))
            .collect(),
        }
    }

    pub(super) fn finish(mut self, what: &str) -> Result<()> {
        let mut first = None;
        while let Some(g) = self.guards.pop() {
            if let Some(e) = pollster::block_on(g.pop()) {
                let msg = match &e {
                    wgpu::Error::OutOfMemory { .. } => format!(
                        "{what}: out of GPU memory ({e}); evaluate fewer genomes or examples at once, or evaluate on the CPU"
                    ),
                    _ => format!("{what}: {e}"),
                };
                first.get_or_insert(msg);
            }
        }
        match first {
            Some(msg) => Err(Error::Gpu(msg)),
            None => Ok(()),
        }
    }
}
