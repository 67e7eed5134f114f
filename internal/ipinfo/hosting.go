package ipinfo

// hostingASNs are the autonomous systems of well-known cloud, hosting and
// CDN providers: an address in one is a server, a proxy or a VPN/relay
// exit, not a household or office line. No maintained open list of
// datacenter networks is packaged by npm or Debian, so the list is kept
// here, short and by hand: each number is the operator's own (as its
// PeeringDB record and network documentation give it), and
// TestHostingASNsMatchData checks it against the organisation the
// bundled data names, so that a refresh that reassigns one fails.
// Values are the operator, for that test and for readers.
var hostingASNs = map[uint32]string{
	16509:  "Amazon", // AWS
	14618:  "Amazon", // AWS (us-east-1)
	8987:   "Amazon", // AWS (Ireland)
	15169:  "Google", // Google services and crawlers
	396982: "Google", // Google Cloud
	8075:   "Microsoft",
	13335:  "Cloudflare",
	54113:  "Fastly",
	20940:  "Akamai",
	16625:  "Akamai",
	63949:  "Akamai", // Linode
	31898:  "Oracle",
	36351:  "IBM", // IBM Cloud (SoftLayer)
	45102:  "Alibaba",
	132203: "Tencent",
	14061:  "DigitalOcean",
	16276:  "OVH",
	24940:  "Hetzner",
	12876:  "Scaleway",
	51167:  "Contabo",
	40021:  "Contabo",
	20473:  "Constant", // Vultr
	60781:  "LeaseWeb",
	8560:   "IONOS",
	47583:  "Hostinger",
	46606:  "Unified Layer", // Bluehost, HostGator
	9009:   "M247",
	212238: "Datacamp",  // CDN77
	19551:  "Incapsula", // Imperva
}
