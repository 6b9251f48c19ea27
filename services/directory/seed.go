package directory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pg"
)

// seedBatch is how many doctors one COPY round sends: enough to amortise the round
// trips, small enough that a million doctors never sit in memory at once.
const seedBatch = 5000

// maxCRM is the largest CRM number the platform accepts (eight digits).
const maxCRM = 99_999_999

// Seed adds n listed doctor profiles spread over Cities, for demos and benchmarks, and
// returns how many it inserted. They are directory profiles only: no identity account
// stands behind them, so nobody can log in as one.
//
// The data is a function of seed and of the largest numeric CRM already in the table:
// the same seed on the same data gives the same doctors, and seeding again (with any
// seed) adds new doctors whose CRMs continue after the existing ones and whose ids come
// from a differently seeded generator. Seeders are serialised by an advisory lock; the
// doctors are copied in one transaction (all or nothing) and the tables analysed after.
func Seed(ctx context.Context, db *pgxpool.Pool, n int, seed int64) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("seed: %d doctors: must not be negative", n)
	}
	if n == 0 {
		return 0, nil
	}
	var doctors doctorStore
	specs, err := loadSpecialties(ctx, db)
	if err != nil {
		return 0, err
	}
	err = pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if err := doctors.lockSeeding(ctx, tx); err != nil {
			return err
		}
		last, err := doctors.maxNumericCRM(ctx, tx)
		if err != nil {
			return err
		}
		// Seeded CRMs have six digits or more, as in the large councils.
		last = max(last, 99_999)
		if last+int64(n) > maxCRM {
			return fmt.Errorf("%d more doctors would pass the largest CRM number (%d)", n, maxCRM)
		}
		g := newGenerator(seed, last, specs)
		for done := 0; done < n; done += seedBatch {
			if err := doctors.copyIn(ctx, tx, g.doctors(min(seedBatch, n-done))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	// Fresh statistics let the planner see the new rows before autovacuum does.
	if err := doctors.analyze(ctx, db); err != nil {
		return n, fmt.Errorf("seed: %w", err)
	}
	return n, nil
}

// loadSpecialties reads the specialties, by code, with the weight of each.
func loadSpecialties(ctx context.Context, db *pgxpool.Pool) ([]specialtyWeight, error) {
	list, err := doctorStore{}.specialties(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if len(list) < 3 {
		return nil, errors.New("seed: the specialties table is not migrated")
	}
	specs := make([]specialtyWeight, len(list))
	for i, sp := range list {
		specs[i] = specialtyWeight{code: sp.GetCode(), name: sp.GetName(), weight: specialtyShare[sp.GetCode()]}
		if specs[i].weight == 0 {
			specs[i].weight = 4
		}
	}
	return specs, nil
}

// seedDoctor is one generated profile.
type seedDoctor struct {
	id          [16]byte
	crm         string
	name, bio   string
	price       int64
	minutes     int32
	languages   []string
	city        *City
	address     string
	lat, lng    float64
	ratingSum   int64
	ratingCount int32
	specialties []seedSpecialty
}

type seedSpecialty struct{ code, rqe string }

type specialtyWeight struct {
	code, name string
	weight     int
}

// generator draws doctors from a seeded PRNG; every draw happens in a fixed order so
// the output depends on the seed alone.
type generator struct {
	r        *rand.Rand
	crm      int64 // the last CRM number handed out
	cityCum  []int // cumulative population
	specs    []specialtyWeight
	specsCum []int
}

func newGenerator(seed, lastCRM int64, specs []specialtyWeight) *generator {
	// The second PCG word is the CRM offset, so a second run with the same seed on the
	// same table draws other ids instead of colliding with the first run's.
	g := &generator{r: rand.New(rand.NewPCG(uint64(seed), uint64(lastCRM))), crm: lastCRM, specs: specs}
	total := 0
	for _, c := range Cities {
		total += c.Population
		g.cityCum = append(g.cityCum, total)
	}
	total = 0
	for _, s := range specs {
		total += s.weight
		g.specsCum = append(g.specsCum, total)
	}
	return g
}

// pick returns an index drawn with the weights whose running sums are cum.
func (g *generator) pick(cum []int) int {
	i, _ := slices.BinarySearch(cum, g.r.IntN(cum[len(cum)-1])+1)
	return i
}

func (g *generator) doctors(n int) []seedDoctor {
	out := make([]seedDoctor, n)
	for i := range out {
		g.doctor(&out[i])
	}
	return out
}

func (g *generator) doctor(d *seedDoctor) {
	r := g.r
	// A version 4 UUID whose random bits come from the seeded generator.
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		d.id[i], d.id[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	d.id[6] = d.id[6]&0x0f | 0x40
	d.id[8] = d.id[8]&0x3f | 0x80

	g.crm++
	d.crm = strconv.FormatInt(g.crm, 10)
	d.city = &Cities[g.pick(g.cityCum)]

	female := r.IntN(2) == 0
	first, title, graduated := maleNames, "Dr.", "formado"
	if female {
		first, title, graduated = femaleNames, "Dra.", "formada"
	}
	name := first[r.IntN(len(first))] + " " + surnames[r.IntN(len(surnames))]
	if r.IntN(100) < 45 {
		name += " " + surnames[r.IntN(len(surnames))]
	}
	d.name = title + " " + name

	count := 1
	switch p := r.IntN(100); {
	case p >= 90:
		count = 3
	case p >= 60:
		count = 2
	}
	d.specialties = d.specialties[:0]
	var names []string
	for len(d.specialties) < count {
		s := g.specs[g.pick(g.specsCum)]
		if slices.ContainsFunc(d.specialties, func(x seedSpecialty) bool { return x.code == s.code }) {
			continue
		}
		d.specialties = append(d.specialties, seedSpecialty{code: s.code, rqe: strconv.Itoa(1000 + r.IntN(89000))})
		names = append(names, s.name)
	}

	// Prices cluster around R$ 250 with a long tail, in whole tens of reais.
	reais := math.Round(math.Exp(math.Log(250)+0.45*r.NormFloat64())/10) * 10
	d.price = int64(min(max(reais, 120), 900)) * 100
	switch p := r.IntN(100); {
	case p < 20:
		d.minutes = 30
	case p < 90:
		d.minutes = 50
	default:
		d.minutes = 60
	}
	d.languages = []string{"pt-BR"}
	if r.IntN(100) < 18 {
		d.languages = append(d.languages, "en")
	}
	if r.IntN(100) < 8 {
		d.languages = append(d.languages, "es")
	}

	d.lat, d.lng = g.near(d.city, 15)
	d.address = fmt.Sprintf("%s, %d, sala %d", streets[r.IntN(len(streets))], 10+r.IntN(3000), (1+r.IntN(20))*100+1+r.IntN(20))

	// A quarter have no reviews yet; the others have a handful to hundreds, averaging
	// mostly between 4 and 5 as on real marketplaces.
	if r.IntN(100) >= 25 {
		d.ratingCount = int32(min(math.Ceil(math.Exp(math.Log(20)+1.1*r.NormFloat64())), 2000))
		avg := min(max(4.5+0.4*r.NormFloat64(), 1), 5)
		d.ratingSum = min(max(int64(math.Round(avg*float64(d.ratingCount))), int64(d.ratingCount)), 5*int64(d.ratingCount))
	}

	year := 1978 + r.IntN(44)
	d.bio = fmt.Sprintf("%s. CRM %s/%s, %s em %d. Atende em %s/%s e por teleconsulta%s.",
		strings.Join(names, ", "), d.crm, d.city.UF, graduated, year, d.city.Name, d.city.UF, languageNote(d.languages))
}

// near returns a point within maxKm of the city's centre, denser towards the centre
// and on land for a waterfront city, rounded to six decimals (about 0.1 m).
func (g *generator) near(c *City, maxKm float64) (lat, lng float64) {
	const kmPerDegree = 111.32
	dist := maxKm * g.r.Float64()
	bearing := 360 * g.r.Float64()
	if sea, ok := compass[c.Sea]; ok && math.Abs(math.Remainder(bearing-sea, 360)) < 90 {
		bearing = math.Mod(bearing+180, 360)
	}
	rad := bearing * math.Pi / 180
	lat = c.Lat + dist*math.Cos(rad)/kmPerDegree
	lng = c.Lng + dist*math.Sin(rad)/(kmPerDegree*math.Cos(c.Lat*math.Pi/180))
	return math.Round(lat*1e6) / 1e6, math.Round(lng*1e6) / 1e6
}

var languageNames = map[string]string{"en": "inglês", "es": "espanhol"}

var compass = map[string]float64{"N": 0, "NE": 45, "E": 90, "SE": 135, "S": 180, "SW": 225, "W": 270, "NW": 315}

func languageNote(langs []string) string {
	var extra []string
	for _, l := range langs[1:] {
		extra = append(extra, languageNames[l])
	}
	if len(extra) == 0 {
		return ""
	}
	return "; consultas também em " + strings.Join(extra, " e ")
}

// specialtyShare weighs the specialties patients most often look for, roughly after
// the CFM's Demografia Médica; every other specialty weighs 4.
var specialtyShare = map[string]int{
	"clinica_medica":              110,
	"pediatria":                   100,
	"ginecologia_obstetricia":     80,
	"cardiologia":                 50,
	"cirurgia_geral":              45,
	"ortopedia_traumatologia":     45,
	"psiquiatria":                 45,
	"dermatologia":                40,
	"oftalmologia":                35,
	"medicina_familia_comunidade": 30,
	"anestesiologia":              25,
	"endocrinologia_metabologia":  25,
	"neurologia":                  25,
	"gastroenterologia":           20,
	"otorrinolaringologia":        20,
	"urologia":                    20,
	"radiologia":                  18,
	"geriatria":                   15,
	"pneumologia":                 15,
	"infectologia":                12,
	"nefrologia":                  12,
	"reumatologia":                12,
	"medicina_trabalho":           10,
}

var femaleNames = []string{
	"Ana", "Ana Paula", "Ana Carolina", "Ana Beatriz", "Ana Luiza", "Maria", "Maria Eduarda", "Maria Clara",
	"Maria Fernanda", "Juliana", "Fernanda", "Mariana", "Camila", "Beatriz", "Larissa", "Patrícia", "Aline",
	"Carolina", "Gabriela", "Renata", "Luciana", "Vanessa", "Cristina", "Letícia", "Amanda", "Bruna", "Isabela",
	"Natália", "Rafaela", "Tatiane", "Adriana", "Simone", "Daniela", "Priscila", "Helena", "Lúcia", "Paula",
	"Sandra", "Cláudia", "Débora", "Raquel", "Thaís", "Lívia", "Marina", "Sílvia", "Elaine", "Flávia", "Roberta",
}

var maleNames = []string{
	"João", "João Pedro", "João Victor", "José", "José Roberto", "Pedro", "Lucas", "Gabriel", "Rafael", "Carlos",
	"Carlos Eduardo", "Paulo", "Paulo Henrique", "Marcelo", "Ricardo", "Rodrigo", "Fernando", "Eduardo", "Felipe",
	"Gustavo", "Bruno", "Thiago", "André", "Leonardo", "Daniel", "Marcos", "Luiz", "Luiz Fernando", "Luiz Carlos",
	"Antônio", "Francisco", "Diego", "Vinícius", "Matheus", "Roberto", "Sérgio", "Fábio", "Henrique", "Caio",
	"Renato", "Alexandre", "Márcio", "Otávio", "Guilherme", "Maurício", "Túlio", "Samuel", "Davi",
}

var surnames = []string{
	"Silva", "da Silva", "Santos", "dos Santos", "Oliveira", "de Oliveira", "Souza", "de Souza", "Rodrigues",
	"Ferreira", "Alves", "Pereira", "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes",
	"Soares", "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "do Nascimento", "Andrade", "Moreira",
	"Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira",
	"Araújo", "Cavalcanti", "Moura", "Campos", "Correia", "Monteiro", "Pinto", "Castro", "Melo", "Azevedo",
	"Batista", "Coelho", "Farias", "Tavares", "Barros", "Bezerra", "Siqueira", "Queiroz", "Guimarães", "Brandão",
}

var streets = []string{
	"Rua Sete de Setembro", "Avenida Brasil", "Rua Quinze de Novembro", "Rua Tiradentes", "Avenida Dom Pedro II",
	"Rua Santos Dumont", "Avenida Getúlio Vargas", "Rua Rui Barbosa", "Rua Marechal Deodoro", "Avenida Duque de Caxias",
	"Rua Floriano Peixoto", "Avenida Barão do Rio Branco", "Rua São João", "Rua das Palmeiras", "Rua José Bonifácio",
	"Rua Castro Alves", "Avenida Princesa Isabel", "Rua Benjamin Constant", "Avenida Presidente Vargas",
	"Rua Visconde de Mauá", "Avenida JK", "Rua Padre Anchieta", "Rua Voluntários da Pátria", "Avenida Independência",
	"Rua Carlos Gomes", "Rua Machado de Assis", "Avenida das Américas", "Rua Treze de Maio", "Rua Bela Vista",
	"Avenida Santo Amaro",
}
