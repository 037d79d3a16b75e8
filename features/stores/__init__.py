"""Our Feast store classes, named by `type:` in feature_store.yaml."""
