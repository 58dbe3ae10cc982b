FROM debian:bookworm-20251229-slim
RUN apt-get update && apt-get install -y curl
USER root
ENTRYPOINT /app
