FROM rust:latest AS build
RUN cargo build --release

FROM debian:bookworm-slim
COPY --from=build /src/target/release/app /app
USER 10001
ENTRYPOINT ["/app"]
