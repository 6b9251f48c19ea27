package directory

// City is a Brazilian city the seed generator places doctors in.
type City struct {
	Name     string
	UF       string
	Lat, Lng float64 // the centre, in degrees
	TimeZone string  // IANA
	// Population in thousands (IBGE Censo 2022, rounded): the share of seeded doctors.
	Population int
	// Sea is the compass point ("N", "NE", … "NW") of open water or a wide bay seen from
	// the centre of a waterfront city, "" inland: doctors are placed on the other side.
	Sea string
}

// Cities are the 27 state capitals and the largest interior and metropolitan cities.
var Cities = []City{
	// Capitals.
	{"São Paulo", "SP", -23.5505, -46.6333, "America/Sao_Paulo", 11451, ""},
	{"Rio de Janeiro", "RJ", -22.9068, -43.1729, "America/Sao_Paulo", 6211, "SE"},
	{"Brasília", "DF", -15.7939, -47.8828, "America/Sao_Paulo", 2817, ""},
	{"Fortaleza", "CE", -3.7319, -38.5267, "America/Fortaleza", 2428, "N"},
	{"Salvador", "BA", -12.9714, -38.5014, "America/Bahia", 2418, "SW"},
	{"Belo Horizonte", "MG", -19.9167, -43.9345, "America/Sao_Paulo", 2316, ""},
	{"Manaus", "AM", -3.1190, -60.0217, "America/Manaus", 2063, "S"},
	{"Curitiba", "PR", -25.4284, -49.2733, "America/Sao_Paulo", 1773, ""},
	{"Recife", "PE", -8.0476, -34.8770, "America/Recife", 1488, "E"},
	{"Goiânia", "GO", -16.6869, -49.2648, "America/Sao_Paulo", 1437, ""},
	{"Porto Alegre", "RS", -30.0346, -51.2177, "America/Sao_Paulo", 1332, "W"},
	{"Belém", "PA", -1.4558, -48.4902, "America/Belem", 1303, "NW"},
	{"São Luís", "MA", -2.5307, -44.3068, "America/Fortaleza", 1037, "N"},
	{"Maceió", "AL", -9.6498, -35.7089, "America/Maceio", 957, "SE"},
	{"Campo Grande", "MS", -20.4697, -54.6201, "America/Campo_Grande", 898, ""},
	{"Teresina", "PI", -5.0920, -42.8038, "America/Fortaleza", 866, ""},
	{"João Pessoa", "PB", -7.1195, -34.8450, "America/Fortaleza", 833, "E"},
	{"Natal", "RN", -5.7945, -35.2110, "America/Fortaleza", 751, "E"},
	{"Cuiabá", "MT", -15.6014, -56.0979, "America/Cuiaba", 650, ""},
	{"Aracaju", "SE", -10.9472, -37.0731, "America/Maceio", 602, "E"},
	{"Florianópolis", "SC", -27.5954, -48.5480, "America/Sao_Paulo", 537, "E"},
	{"Porto Velho", "RO", -8.7612, -63.9004, "America/Porto_Velho", 460, ""},
	{"Macapá", "AP", 0.0349, -51.0694, "America/Belem", 442, "SE"},
	{"Boa Vista", "RR", 2.8235, -60.6758, "America/Boa_Vista", 413, ""},
	{"Rio Branco", "AC", -9.9747, -67.8243, "America/Rio_Branco", 364, ""},
	{"Vitória", "ES", -20.3155, -40.3128, "America/Sao_Paulo", 322, "E"},
	{"Palmas", "TO", -10.1840, -48.3336, "America/Araguaina", 302, ""},
	// Large interior and metropolitan cities.
	{"Guarulhos", "SP", -23.4538, -46.5333, "America/Sao_Paulo", 1291, ""},
	{"Campinas", "SP", -22.9099, -47.0626, "America/Sao_Paulo", 1139, ""},
	{"São Gonçalo", "RJ", -22.8268, -43.0634, "America/Sao_Paulo", 896, "W"},
	{"São Bernardo do Campo", "SP", -23.6914, -46.5646, "America/Sao_Paulo", 810, ""},
	{"Sorocaba", "SP", -23.5015, -47.4526, "America/Sao_Paulo", 723, ""},
	{"Uberlândia", "MG", -18.9186, -48.2772, "America/Sao_Paulo", 713, ""},
	{"Ribeirão Preto", "SP", -21.1775, -47.8103, "America/Sao_Paulo", 698, ""},
	{"Contagem", "MG", -19.9317, -44.0536, "America/Sao_Paulo", 621, ""},
	{"Joinville", "SC", -26.3045, -48.8487, "America/Sao_Paulo", 616, ""},
	{"Feira de Santana", "BA", -12.2664, -38.9663, "America/Bahia", 616, ""},
	{"Londrina", "PR", -23.3045, -51.1696, "America/Sao_Paulo", 555, ""},
	{"Juiz de Fora", "MG", -21.7642, -43.3496, "America/Sao_Paulo", 540, ""},
	{"Niterói", "RJ", -22.8832, -43.1034, "America/Sao_Paulo", 481, "SW"},
	{"Caxias do Sul", "RS", -29.1678, -51.1794, "America/Sao_Paulo", 463, ""},
	{"Campina Grande", "PB", -7.2307, -35.8817, "America/Fortaleza", 419, ""},
	{"Santos", "SP", -23.9608, -46.3336, "America/Sao_Paulo", 418, "S"},
	{"Santarém", "PA", -2.4430, -54.7082, "America/Santarem", 331, "N"},
	{"Araguaína", "TO", -7.1920, -48.2044, "America/Araguaina", 171, ""},
}
