//! Connect middleware.
mod common;
use common::*;

use bus_core::{Bus, ConnectError, ConnectOptions, Handshake};
use futures::executor::block_on;
use serde_json::json;

#[test]
fn middleware_rejects_a_socket_with_a_message_and_data() {
    let bus = Bus::start();
    let ns = bus.of("/private");
    ns.use_middleware(|hs| match hs.auth["token"].as_str() {
        Some("letmein") => Ok(()),
        _ => Err(ConnectError::new("invalid token").with_data(json!({"code": 4001}))),
    });
    let err = block_on(ns.connect(ConnectOptions {
        auth: json!({"token": "nope"}),
        ..Default::default()
    }))
    .unwrap_err();
    assert_eq!(err.message, "invalid token");
    assert_eq!(err.data, Some(json!({"code": 4001})));
    let err =
        block_on(ns.connect_remote(Handshake::default(), std::sync::Arc::new(|| {}))).unwrap_err();
    assert_eq!(err.message, "invalid token");
    assert_eq!(ns.metrics().sockets, 0);
    let ok = block_on(ns.connect(ConnectOptions {
        auth: json!({"token": "letmein"}),
        ..Default::default()
    }));
    assert!(ok.is_ok());
    settle(&ns);
    assert_eq!(ns.metrics().sockets, 1);
}

#[test]
fn middleware_runs_in_order_and_a_panicking_one_rejects_without_harm() {
    let bus = Bus::start();
    let ns = bus.of("/");
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (o1, o2) = (order.clone(), order.clone());
    ns.use_middleware(move |_| {
        o1.lock().unwrap().push(1);
        Ok(())
    });
    ns.use_middleware(move |hs| {
        o2.lock().unwrap().push(2);
        if hs.auth["boom"] == true {
            panic!("middleware bug");
        }
        Ok(())
    });
    let err = block_on(ns.connect(ConnectOptions {
        auth: json!({"boom": true}),
        ..Default::default()
    }))
    .unwrap_err();
    assert_eq!(err.message, "middleware failed");
    assert_eq!(*order.lock().unwrap(), vec![1, 2]);
    assert!(
        block_on(ns.connect(ConnectOptions::default())).is_ok(),
        "the namespace still accepts sockets"
    );
}
