"""The township hub (乡镇便民服务中心): its store, the sync service, the HTTP server and the
``township`` command. Storage sits behind ``HubStore`` so a PostgreSQL adapter is a new module."""
