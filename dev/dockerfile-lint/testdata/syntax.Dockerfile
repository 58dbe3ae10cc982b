FROM debian:bookworm-20251229-slim
COPY
USER 10001
