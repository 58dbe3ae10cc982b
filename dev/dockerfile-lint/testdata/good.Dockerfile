ARG RUNTIME=docker.io/library/debian:bookworm-20251229-slim
FROM docker.io/library/rust:1.95.0-bookworm AS build
RUN cargo build --release

FROM ${RUNTIME}
COPY --from=build /src/app /app
USER 10001:10001
ENTRYPOINT ["/app"]
