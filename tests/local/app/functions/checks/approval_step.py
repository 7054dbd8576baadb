config = {
    "type": "noop", "name": "ManualApproval", "flows": ["checks"],
    "virtualSubscribes": ["flaky"], "virtualEmits": ["undeclared-check"],
}
