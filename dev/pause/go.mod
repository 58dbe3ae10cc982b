module tripnest.dev/pause

go 1.23
