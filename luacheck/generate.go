package luacheck

//go:generate go run ./internal/apigen/cmd/apigen -data ../../shared/data -out apitable_gen.go
