import HighwaterHost

// Highwater starts this program as `custom-handler host --plan PLAN --out DIR` for each configuration of
// custom-handler.yaml; the scenario's workload names the route its requests go to.
var routes = Routes()
routes.add("/json", DecodeJSON())
routes.add("/cache", ResponseCache())
routes.add("/resize", ResizeImage())
Host.main(routes)
