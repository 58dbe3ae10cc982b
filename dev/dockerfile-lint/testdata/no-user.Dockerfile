ARG BASE
FROM ${BASE}
ADD https://example.com/app.tar.gz /
CMD ["/app"]
